"""moto's CloudFormation, taught what the translated package needs and it does not do.

moto 5.2 creates a template's Lambda functions, roles, tables, queues, topics, log groups, rules, event
source mappings and keys through its own service backends, but skips five types the package uses ("No
Moto CloudFormation support for …"): CloudWatch alarms, Lambda's event invoke configs (the failure
destinations), Secrets Manager secrets, SQS queue policies and API Gateway stages; and it creates a REST
API without the OpenAPI body CloudFormation imports (so the SAM deployment of Chalice's API fails: "The
REST API doesn't contain any methods"), it double-encodes a managed policy's document given as text, and
it leaves out a bucket's CORS rules and a role's managed policies.
Each is created here as CloudFormation does: with the same service
call (PutMetricAlarm, PutFunctionEventInvokeConfig, CreateSecret with GenerateSecretString,
SetQueueAttributes Policy, CreateStage, CreateRestApi + PutRestApi of the body) on moto's backend of that
service, from the resource's resolved properties — so a test reads them back with the ordinary API
(DescribeAlarms, GetFunctionEventInvokeConfig, GetResources, …), not from the template.

What stays out of reach offline: CloudFront (moto has no CloudFormation model of a distribution; the aws-cn
stack without an ICP-filed domain has none, and tests/unit/test_hosting.py checks the aws one), and two
things the caller does first (tests/unit/test_stack.py `for_moto`): moto answers `aws` for AWS::Partition in
every region, and keeps an `AWS::NoValue` inside a list as a null.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

from moto.core.common_models import CloudFormationModel


class _Created(CloudFormationModel):
    """A resource created through a service call: its Ref and GetAtt answers, nothing else. (Only direct
    subclasses of CloudFormationModel join moto's registry by themselves; these are put in by `taught()`.)"""

    def __init__(self, physical_id: str, **attributes):
        self.physical_resource_id = physical_id
        self.attributes = attributes

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    ATTRIBUTES: tuple[str, ...] = ()

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.attributes[attribute_name]

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass


class Alarm(_Created):
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]), threshold=float(p["Threshold"]), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"), dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []), ok_actions=p.get("OKActions", []),
            treat_missing_data=p.get("TreatMissingData"))
        return cls(resource_name, Arn=alarm.alarm_arn)


class EventInvokeConfig(_Created):
    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.awslambda.models import lambda_backends

        p = cloudformation_json["Properties"]
        config = {k: p[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in p}
        lambda_backends[account_id][region_name].put_function_event_invoke_config(p["FunctionName"], config)
        return cls(resource_name)


class Secret(_Created):
    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        p = cloudformation_json["Properties"]
        value = p.get("SecretString")
        generate = p.get("GenerateSecretString")
        if generate is not None:
            password = json.loads(backend.get_random_password(
                password_length=int(generate.get("PasswordLength", 32)),
                exclude_characters=generate.get("ExcludeCharacters", ""),
                exclude_numbers=False, exclude_punctuation=bool(generate.get("ExcludePunctuation")),
                exclude_uppercase=False, exclude_lowercase=False, include_space=False,
                require_each_included_type=True))["RandomPassword"]
            if "SecretStringTemplate" in generate:
                value = json.dumps({**json.loads(generate["SecretStringTemplate"]),
                                    generate["GenerateStringKey"]: password})
            else:
                value = password
        answer = json.loads(backend.create_secret(
            name=resource_name, secret_string=value, secret_binary=None, description=p.get("Description"),
            tags=[], kms_key_id=p.get("KmsKeyId"), client_request_token=None, replica_regions=[],
            force_overwrite=False))
        return cls(answer["ARN"])


class QueuePolicy(_Created):
    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.sqs.models import sqs_backends

        p = cloudformation_json["Properties"]
        for url in p["Queues"]:
            sqs_backends[account_id][region_name].set_queue_attributes(
                url.rsplit("/", 1)[-1], {"Policy": json.dumps(p["PolicyDocument"])})
        return cls(resource_name)


class ApiStage(_Created):
    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.apigateway.models import apigateway_backends

        p = cloudformation_json["Properties"]
        deployment = p["DeploymentId"]  # moto's Ref to its Deployment model is the model, not its id
        apigateway_backends[account_id][region_name].create_stage(
            p["RestApiId"], resource_name, getattr(deployment, "id", deployment), variables=p.get("Variables"))
        return cls(resource_name)


def _rest_api():
    from moto.apigateway.models import RestAPI, apigateway_backends

    class RestApi(RestAPI):
        """AWS::ApiGateway::RestApi with a Body: created and the body's paths, methods and integrations
        imported (PutRestApi), its name the body's title when the template gives none, as CloudFormation does."""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            p = cloudformation_json["Properties"]
            if "Body" not in p:
                return RestAPI.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                               region_name, **kwargs)
            backend = apigateway_backends[account_id][region_name]
            types = p.get("EndpointConfiguration", {}).get("Types")
            api = backend.create_rest_api(name=p.get("Name") or p["Body"]["info"]["title"],
                                          description=p.get("Description", ""),
                                          endpoint_configuration={"types": types} if types else None)
            # moto's PutRestApi reads only the OpenAPI 3 form; Chalice writes Swagger 2.0, whose `paths` and
            # x-amazon-apigateway-integration are the same
            body = {key: value for key, value in p["Body"].items() if key != "swagger"}
            backend.put_rest_api(api.id, {**body, "openapi": "3.0.1"}, fail_on_warnings=False)
            return api

    return RestApi


def _managed_policy():
    from moto.iam.models import ManagedPolicy as MotoManagedPolicy

    class ManagedPolicy(MotoManagedPolicy):
        """AWS::IAM::ManagedPolicy whose document is one `Fn::Sub` of its JSON text (infra/package.py writes the
        province's so, as the functions' role policies): CloudFormation takes a document as text or as an
        object, moto's model JSON-encodes what it gets, a text a second time ("Syntax errors in policy")."""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            document = cloudformation_json["Properties"].get("PolicyDocument")
            if isinstance(document, str):
                cloudformation_json = {**cloudformation_json, "Properties": {
                    **cloudformation_json["Properties"], "PolicyDocument": json.loads(document)}}
            return MotoManagedPolicy.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                                     region_name, **kwargs)

    return ManagedPolicy


def _role():
    from moto.iam.models import Role as MotoRole, iam_backends

    class Role(MotoRole):
        """AWS::IAM::Role with its ManagedPolicyArns attached (AttachRolePolicy), which moto's model skips."""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            role = MotoRole.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                            region_name, **kwargs)
            for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []):
                iam_backends[account_id][arn.split(":")[1]].attach_role_policy(arn, role.name)
            return role

    return Role


def _bucket():
    from moto.s3.models import FakeBucket, s3_backends

    class Bucket(FakeBucket):
        """AWS::S3::Bucket with its CorsConfiguration applied (PutBucketCors), which moto's model skips."""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            bucket = FakeBucket.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                                region_name, **kwargs)
            rules = cloudformation_json.get("Properties", {}).get("CorsConfiguration", {}).get("CorsRules", [])
            if rules:
                names = {"AllowedMethods": "AllowedMethod", "AllowedOrigins": "AllowedOrigin", "Id": "ID",
                         "AllowedHeaders": "AllowedHeader", "ExposedHeaders": "ExposeHeader"}
                s3_backends[account_id]["aws"].put_bucket_cors(bucket.name, [
                    {**{names[k]: v for k, v in rule.items() if k in names},
                     **({"MaxAgeSeconds": str(rule["MaxAge"])} if "MaxAge" in rule else {})} for rule in rules])
            return bucket

    return Bucket


TAUGHT = (Alarm, EventInvokeConfig, Secret, QueuePolicy, ApiStage)


@contextmanager
def taught():
    """moto's CloudFormation with the models above in its registry (a cached map of type → model): put in
    on the way in, the cache cleared on the way out."""
    from moto.cloudformation import parsing

    caches = (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map)
    for cache in caches:
        cache.cache_clear()
    models = {model.cloudformation_type(): model for model in (*TAUGHT, _rest_api(), _managed_policy(), _role(), _bucket())}
    parsing.get_model_map().update(models)
    parsing.get_name_type_map().update({kind: model.cloudformation_name_type() for kind, model in models.items()})
    try:
        yield set(models)
    finally:
        for cache in caches:
            cache.cache_clear()


def for_moto(template: dict, *, partition: str, parameters: dict[str, str]) -> dict:
    """The translated template as moto can create it for `partition`: the conditions' AWS::Partition read as
    that partition (moto says `aws` in every region), and every `Fn::If` taken with tests/cfn_effective.py
    (moto keeps an AWS::NoValue inside a list — a role's optional policy — as a null). Resources keep their
    own Condition, which moto evaluates."""
    from tests.cfn_effective import Effective

    template = json.loads(json.dumps(template))
    template["Conditions"] = json.loads(json.dumps(template.get("Conditions", {})).replace(
        '{"Ref": "AWS::Partition"}', json.dumps(partition)))
    effective = Effective(template, **parameters, **{"AWS::Partition": partition})
    novalue = {"Ref": "AWS::NoValue"}

    def take(node):
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                return take(then if effective.condition(name) else otherwise)
            return {k: v for k, v in ((k, take(v)) for k, v in node.items()) if v != novalue}
        if isinstance(node, list):
            return [v for v in map(take, node) if v != novalue]
        return node

    for section in ("Resources", "Outputs"):
        template[section] = take(template.get(section, {}))
    return template
