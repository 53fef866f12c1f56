"""The optional fixed egress to 粤政易 (infra/network.json, `FixedEgress`): off by default, and when on, the
functions that call 粤政易 leave from one Elastic IP that its administrators can trust (errcode 60020
otherwise).

Asserted on the real JSON: the fragment itself, and the package `infra/package.py` makes of it, with the
template's conditions evaluated for FixedEgress=false (the default) and true, in both partitions; then the
fragment is created in moto's CloudFormation with FixedEgress=true and read back through the EC2 API."""
from __future__ import annotations

import copy
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import package, policies
from tests.cfn_effective import Effective
from tests.unit.test_deploy import _chalice_like

ROOT = Path(__file__).resolve().parents[2]
NETWORK = json.loads((ROOT / "infra" / "network.json").read_text(encoding="utf-8"))
REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1"}
PRIVATE = set(package.EGRESS_SUBNETS)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """The prod package, finished for each partition (`chalice package` once)."""
    base = package.chalice_package("prod", tmp_path_factory.mktemp("prod"), region="cn-north-1")
    return {p: package.finish(copy.deepcopy(base), stage="prod", partition=p) for p in REGIONS}


def _effective(template: dict, *, fixed_egress: str | None = None, partition: str = "aws-cn") -> dict:
    """What CloudFormation would create for FixedEgress (its default when None) in the partition."""
    values = {"AWS::Region": REGIONS[partition], "AWS::Partition": partition}
    if fixed_egress is not None:
        values["FixedEgress"] = fixed_egress
    effective = Effective(template, **values)
    return {"Resources": effective.kept("Resources"), "Outputs": effective.kept("Outputs"), "values": effective.values}


def _sub(value, values: dict) -> str:
    """An Fn::Sub of pseudo parameters only (the endpoints' service names)."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    for name in ("AWS::Region", "AWS::Partition"):
        text = text.replace("${" + name + "}", values[name])
    assert "${" not in text, text
    return text


def _of_type(resources: dict, kind: str) -> dict:
    return {n: r for n, r in resources.items() if r["Type"] == kind}


def _functions(resources: dict) -> dict:
    return _of_type(resources, "AWS::Serverless::Function")


def _role_of(function: dict) -> str:
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


# --- off by default ---------------------------------------------------------------------------------------


def test_fixed_egress_is_a_parameter_off_by_default_and_every_network_resource_depends_on_it():
    assert NETWORK["Parameters"]["FixedEgress"] == {**NETWORK["Parameters"]["FixedEgress"], "Type": "String",
                                                    "Default": "false", "AllowedValues": ["true", "false"]}
    assert NETWORK["Conditions"]["HasFixedEgress"] == {"Fn::Equals": [{"Ref": "FixedEgress"}, "true"]}
    assert NETWORK["Resources"]
    for name, resource in NETWORK["Resources"].items():
        assert resource.get("Condition") == "HasFixedEgress", name
    for name, output in NETWORK["Outputs"].items():
        assert output.get("Condition") == "HasFixedEgress", name


def test_off_the_package_creates_no_network_and_no_function_is_in_a_vpc(packaged):
    for partition, template in packaged.items():
        off = _effective(template, partition=partition)
        assert off["values"]["FixedEgress"] == "false"
        assert not set(NETWORK["Resources"]) & set(off["Resources"]), partition
        assert "EgressIp" not in off["Outputs"]
        for name, function in _functions(off["Resources"]).items():
            assert "VpcConfig" not in function["Properties"], (partition, name)
            policies_of_role = off["Resources"][_role_of(function)]["Properties"]["Policies"]
            assert [p["PolicyName"] for p in policies_of_role] == [f"{package.FUNCTIONS[name]}-policy"]
        for name in package.IN_EGRESS_VPC:  # NoValue, not an empty VpcConfig: CloudFormation drops the property
            assert template["Resources"][name]["Properties"]["VpcConfig"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}


def test_the_stage_parameter_is_the_one_stateful_json_declares_so_the_fragments_merge():
    stateful = json.loads((ROOT / "infra" / "stateful.json").read_text(encoding="utf-8"))
    assert NETWORK["Parameters"]["Stage"] == stateful["Parameters"]["Stage"]
    merged = package.merge_fragments()
    assert set(NETWORK["Resources"]) <= set(merged["Resources"]) and "HasFixedEgress" in merged["Conditions"]


def test_a_template_without_the_fragment_is_finished_without_a_vpc():
    template = _chalice_like("prod")
    done = package.finish(template, stage="prod", partition="aws-cn")
    assert "VpcConfig" not in done["Resources"]["OnUpload"]["Properties"]
    assert len(done["Resources"]["OnUploadRole"]["Properties"]["Policies"]) == 1
    assert "HasFixedEgress" not in json.dumps(done)


def test_the_fragment_passes_cfn_lint_on_its_own():
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))
    result = subprocess.run([cfn_lint, str(ROOT / "infra" / "network.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- on ---------------------------------------------------------------------------------------------------


def test_on_the_push_and_the_worker_run_in_the_private_subnets_with_the_egress_security_group(packaged):
    assert set(package.IN_EGRESS_VPC) == {"MorningPush", "OnUpload"}
    for partition, template in packaged.items():
        on = _effective(template, fixed_egress="true", partition=partition)
        for name, function in _functions(on["Resources"]).items():
            role = on["Resources"][_role_of(function)]["Properties"]["Policies"]
            if name in package.IN_EGRESS_VPC:
                assert function["Properties"]["VpcConfig"] == {
                    "SubnetIds": [{"Ref": "EgressPrivateSubnetA"}, {"Ref": "EgressPrivateSubnetB"}],
                    "SecurityGroupIds": [{"Ref": "EgressSecurityGroup"}]}, (partition, name)
                (eni,) = [p for p in role if p["PolicyName"].endswith("-vpc-network-interfaces")]
                assert eni["PolicyDocument"]["Statement"] == [{"Sid": "VpcNetworkInterfaces", "Effect": "Allow",
                                                               "Action": list(policies.VPC_NETWORK_INTERFACES),
                                                               "Resource": "*"}]
            else:
                assert "VpcConfig" not in function["Properties"], (partition, name)
                assert len(role) == 1, (partition, name)


def test_the_network_interface_actions_are_iam_actions_and_in_no_functions_own_policy():
    assert set(policies.VPC_NETWORK_INTERFACES) <= policies.IAM_ACTIONS
    assert set(policies.VPC_NETWORK_INTERFACES) <= set(policies.ACTIONS)
    for function in policies.FUNCTIONS:
        assert not any(a.startswith("ec2:") for g in policies.FUNCTIONS[function] for a in g.actions), function


def test_the_private_subnets_are_in_two_zones_and_leave_through_the_nat_gateway_and_its_elastic_ip(packaged):
    on = _effective(packaged["aws-cn"], fixed_egress="true")["Resources"]
    subnets = _of_type(on, "AWS::EC2::Subnet")
    assert set(subnets) == PRIVATE | {"EgressPublicSubnet"}
    zones = {n: s["Properties"]["AvailabilityZone"] for n, s in subnets.items()}
    assert zones["EgressPrivateSubnetA"] != zones["EgressPrivateSubnetB"]
    for name in PRIVATE:
        assert zones[name]["Fn::Select"][1] == {"Fn::GetAZs": ""}
    associations = {a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
                    for a in _of_type(on, "AWS::EC2::SubnetRouteTableAssociation").values()}
    assert set(associations) == set(subnets)
    routes = {}
    for route in _of_type(on, "AWS::EC2::Route").values():
        routes.setdefault(route["Properties"]["RouteTableId"]["Ref"], []).append(route["Properties"])
    nat = on["EgressNatGateway"]["Properties"]
    for name in PRIVATE:
        (default,) = [r for r in routes[associations[name]] if r["DestinationCidrBlock"] == "0.0.0.0/0"]
        assert default.get("NatGatewayId") == {"Ref": "EgressNatGateway"} and "GatewayId" not in default, name
    (public,) = routes[associations["EgressPublicSubnet"]]
    assert public["DestinationCidrBlock"] == "0.0.0.0/0" and public["GatewayId"] == {"Ref": "EgressInternetGateway"}
    assert nat["SubnetId"] == {"Ref": "EgressPublicSubnet"}
    assert nat["AllocationId"] == {"Fn::GetAtt": ["EgressAddress", "AllocationId"]}
    assert on["EgressAddress"]["Properties"]["Domain"] == "vpc"
    attachment = on["EgressGatewayAttachment"]["Properties"]
    assert attachment == {"VpcId": {"Ref": "EgressVpc"}, "InternetGatewayId": {"Ref": "EgressInternetGateway"}}


def test_the_egress_ip_output_is_the_elastic_ip(packaged):
    for template in (NETWORK, *packaged.values()):
        output = template["Outputs"]["EgressIp"]
        assert output["Value"] == {"Ref": "EgressAddress"} and output["Condition"] == "HasFixedEgress"
        assert template["Resources"]["EgressAddress"]["Type"] == "AWS::EC2::EIP"


@pytest.mark.parametrize("partition", sorted(REGIONS))
def test_s3_and_dynamodb_are_reached_through_gateway_endpoints_on_the_private_route_tables(packaged, partition):
    on = _effective(packaged[partition], fixed_egress="true", partition=partition)
    resources = on["Resources"]
    private_tables = {a["Properties"]["RouteTableId"]["Ref"]
                      for a in _of_type(resources, "AWS::EC2::SubnetRouteTableAssociation").values()
                      if a["Properties"]["SubnetId"]["Ref"] in PRIVATE}
    endpoints = {}
    for endpoint in _of_type(resources, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        assert props["VpcEndpointType"] == "Gateway" and props["VpcId"] == {"Ref": "EgressVpc"}
        assert {t["Ref"] for t in props["RouteTableIds"]} == private_tables
        endpoints[_sub(props["ServiceName"], on["values"])] = props
    region = REGIONS[partition]
    # the gateway endpoints keep the com.amazonaws prefix in China too: cn.com.amazonaws.cn-north-1.s3 is
    # S3's *interface* endpoint there (infra/network.json's Metadata)
    assert set(endpoints) == {f"com.amazonaws.{region}.s3", f"com.amazonaws.{region}.dynamodb"}


def test_the_security_group_allows_https_out_and_nothing_in():
    group = NETWORK["Resources"]["EgressSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]] == [
        ("tcp", 443, 443, "0.0.0.0/0")]
    assert not [n for n, r in NETWORK["Resources"].items()
                if r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")]
    assert NETWORK["Resources"]["EgressVpc"]["Properties"]["EnableDnsSupport"] is True  # DNS: the VPC's resolver


# --- in moto's CloudFormation -----------------------------------------------------------------------------


def _without_fn_cidr(node, block: str):
    """moto has no Fn::Cidr: replaced with what CloudFormation computes (`count` blocks of 32 − bits)."""
    if isinstance(node, dict):
        if "Fn::Cidr" in node:
            _, count, bits = node["Fn::Cidr"]
            return [str(s) for s in list(ipaddress.ip_network(block).subnets(new_prefix=32 - bits))[:count]]
        return {k: _without_fn_cidr(v, block) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_fn_cidr(v, block) for v in node]
    return node


def test_moto_creates_the_fragment_with_fixed_egress_and_the_nat_leaves_from_the_output_address():
    body = json.dumps(_without_fn_cidr(NETWORK, NETWORK["Parameters"]["VpcCidr"]["Default"]))
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="cn-north-1")
        ec2 = boto3.client("ec2", region_name="cn-north-1")
        before = len(ec2.describe_vpcs()["Vpcs"])
        cfn.create_stack(StackName="sentinel-off", TemplateBody=body,
                         Parameters=[{"ParameterKey": "Stage", "ParameterValue": "off"}])
        assert cfn.describe_stacks(StackName="sentinel-off")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        assert len(ec2.describe_vpcs()["Vpcs"]) == before and not ec2.describe_nat_gateways()["NatGateways"]
        assert not ec2.describe_addresses()["Addresses"]

        cfn.create_stack(StackName="sentinel-test", TemplateBody=body,
                         Parameters=[{"ParameterKey": "Stage", "ParameterValue": "test"},
                                     {"ParameterKey": "FixedEgress", "ParameterValue": "true"}])
        stack = cfn.describe_stacks(StackName="sentinel-test")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        ids = {r["LogicalResourceId"]: r["PhysicalResourceId"]
               for r in cfn.list_stack_resources(StackName="sentinel-test")["StackResourceSummaries"]}
        assert set(NETWORK["Resources"]) <= set(ids)
        egress_ip = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["EgressIp"]

        (nat,) = ec2.describe_nat_gateways()["NatGateways"]
        assert nat["SubnetId"] == ids["EgressPublicSubnet"]
        assert [a["PublicIp"] for a in nat["NatGatewayAddresses"]] == [egress_ip]
        assert [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]] == [egress_ip]

        (private,) = ec2.describe_route_tables(RouteTableIds=[ids["EgressPrivateRouteTable"]])["RouteTables"]
        targets = {r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"): r.get("NatGatewayId")
                   or r.get("GatewayId") for r in private["Routes"]}
        assert targets["0.0.0.0/0"] == nat["NatGatewayId"]
        endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=[ids["EgressS3Endpoint"],
                                                               ids["EgressDynamoDbEndpoint"]])["VpcEndpoints"]
        assert {e["ServiceName"] for e in endpoints} == {"com.amazonaws.cn-north-1.s3",
                                                         "com.amazonaws.cn-north-1.dynamodb"}
        for endpoint in endpoints:
            assert endpoint["VpcEndpointType"] == "Gateway" and endpoint["RouteTableIds"] == [private["RouteTableId"]]
            assert endpoint["VpcEndpointId"] in targets.values()  # the prefix-list route moto adds per endpoint

        subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(
            SubnetIds=[ids[n] for n in (*PRIVATE, "EgressPublicSubnet")])["Subnets"]}
        assert {s["VpcId"] for s in subnets.values()} == {ids["EgressVpc"]}
        assert subnets[ids["EgressPrivateSubnetA"]]["AvailabilityZone"] != subnets[ids["EgressPrivateSubnetB"]][
            "AvailabilityZone"]
        (group,) = ec2.describe_security_groups(GroupIds=[ids["EgressSecurityGroup"]])["SecurityGroups"]
        assert group["VpcId"] == ids["EgressVpc"] and group["IpPermissions"] == []
