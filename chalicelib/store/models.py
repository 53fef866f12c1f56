"""The single definition of every table and index (infra/ must match it: tests/unit/test_infra.py).

Table names are read from the settings when a table is first used, so importing this module touches
neither the environment nor AWS.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.base import LazyTableName as _LazyTableName
from chalicelib.store.compliance import ComplianceRun, MatcherRun, PushItem, ShortfallItem
from chalicelib.store.feeds import FeedPart, StrangerShard
from chalicelib.store.operations import KeyRotation
from chalicelib.store.search import SearchEntry


class Account(Model):
    """A staff account (运维, 委办局, 镇街, 专班). Heads have none: their enterprises are their account."""

    class Meta(metaclass=_LazyTableName):
        base_name = "accounts"
        billing_mode = "PAY_PER_REQUEST"

    username = UnicodeAttribute(hash_key=True)
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()
    town = UnicodeAttribute(null=True)
    district = UnicodeAttribute(null=True)  # a 区 official's (委办局, 专班) district; none: every district served
    categories = ListAttribute(of=UnicodeAttribute, default=list)
    wecom_userid = UnicodeAttribute(null=True)  # 粤政易 account: a recipient to pick, and whose messages it sees
    password_hash = UnicodeAttribute()
    disabled = BooleanAttribute(default=False)
    # Raised on disable and password reset; a session minted under an older epoch is dead.
    session_epoch = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class Session(Model):
    """A login session, keyed by the SHA-256 of its bearer token (the token itself is never stored)."""

    class Meta(metaclass=_LazyTableName):
        base_name = "sessions"
        billing_mode = "PAY_PER_REQUEST"

    token_hash = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute()  # username, or the head's phone
    role = UnicodeAttribute()
    epoch = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class LiveCode(MapAttribute):
    """One login code a phone holds: a later request adds another, never replaces this one (issue 23)."""

    digest = UnicodeAttribute()  # keyed hash of "<phone>:<code>": the code itself is never stored
    valid_until = UTCDateTimeAttribute()
    failures = NumberAttribute(default=0)  # wrong guesses it has survived (every guess is tried against it)
    sent_at = UTCDateTimeAttribute()
    client = UnicodeAttribute()  # keyed hash of the address that asked: whose code a full set gives up


class SmsSender(MapAttribute):
    """Codes one client address had sent to this phone on one Shanghai day, and when it last asked."""

    client = UnicodeAttribute()  # keyed hash of the address
    day = UnicodeAttribute()
    sent = NumberAttribute(default=0)
    last_sent_at = UTCDateTimeAttribute()


class SmsCode(Model):
    """A phone's live login codes, its send counters (per asking address and in all) and a version that
    makes every change conditional: two requests or guesses at once never lose one another's write."""

    class Meta(metaclass=_LazyTableName):
        base_name = "sms-codes"
        billing_mode = "PAY_PER_REQUEST"

    phone = UnicodeAttribute(hash_key=True)
    codes = ListAttribute(of=LiveCode, default=list)
    senders = ListAttribute(of=SmsSender, default=list)  # today's only: at most the phone's daily cap of them
    last_sent_at = UTCDateTimeAttribute(null=True)
    send_day = UnicodeAttribute(null=True)
    sent_that_day = NumberAttribute(default=0)  # by every address together
    version = VersionAttribute()
    # Before issue 23 a phone held one code; a record written then is read as one live code and rewritten.
    code_hash = UnicodeAttribute(null=True)
    code_valid_until = UTCDateTimeAttribute(null=True)
    failures = NumberAttribute(null=True)


class Throttle(Model):
    """A counter of attempts in one time window, e.g. codes sent to one client address this hour; it
    expires with its window (services/common/throttle.py)."""

    class Meta(metaclass=_LazyTableName):
        base_name = "throttles"
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)  # what#who#window start
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class EnterprisesByTown(GlobalSecondaryIndex):
    """A town's enterprises, newest first (lists page by it without reading the whole town)."""

    class Meta:
        index_name = "by-town"
        projection = AllProjection()

    town = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class EnterprisesByCategory(GlobalSecondaryIndex):
    """A sentinel category's enterprises, newest first."""

    class Meta:
        index_name = "by-category"
        projection = AllProjection()

    category = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class EnterprisesByReach(GlobalSecondaryIndex):
    """One sentinel category's enterprises in one district ("南沙区#express"), newest first: what a 区
    official lists, in one partition however many towns the district has (rules/geography.py)."""

    class Meta:
        index_name = "by-reach"
        projection = AllProjection()

    reach = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class EnterprisesByHead(GlobalSecondaryIndex):
    class Meta:
        index_name = "by-head-phone"
        projection = KeysOnlyProjection()

    head_phone = UnicodeAttribute(hash_key=True)


class Enterprise(Model):
    """A sentinel workplace (主体). Its 负责人电话 is its head's login."""

    class Meta(metaclass=_LazyTableName):
        base_name = "enterprises"
        billing_mode = "PAY_PER_REQUEST"

    enterprise_id = UnicodeAttribute(hash_key=True)
    category = UnicodeAttribute()
    name = UnicodeAttribute()
    name_key = UnicodeAttribute()
    town = UnicodeAttribute()
    grid = UnicodeAttribute(null=True)
    head_name = UnicodeAttribute()
    head_phone = UnicodeAttribute()
    address = UnicodeAttribute()
    extra = MapAttribute(default=dict)
    staff_count = NumberAttribute(default=0)  # kept by staff writes, shown in lists
    reach = UnicodeAttribute(null=True)  # geography.reach_of(town, category): the by-reach partition
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_town = EnterprisesByTown()
    by_category = EnterprisesByCategory()
    by_reach = EnterprisesByReach()
    by_head = EnterprisesByHead()


class StaffByPerson(GlobalSecondaryIndex):
    """Feed matching and search by ID: which enterprises employ the person with this keyed ID hash."""

    class Meta:
        index_name = "by-person"
        projection = KeysOnlyProjection()

    person_key = UnicodeAttribute(hash_key=True)


class StaffByScope(GlobalSecondaryIndex):
    """The ledger (§2.3): one partition per sentinel category and town ("express#南沙街"), newest first.
    A town reads one partition of a category, a bureau one per town; never the whole table."""

    class Meta:
        index_name = "by-scope"
        projection = AllProjection()

    scope = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class StaffByReach(GlobalSecondaryIndex):
    """The ledger of one category in one district ("南沙区#express"), newest first, keys only: a page
    reads one partition per district the caller covers — never one per town, so a page costs the same
    at 10 towns as at 170 (services/views/ledger.py)."""

    class Meta:
        index_name = "by-reach"
        projection = KeysOnlyProjection()

    reach = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class StaffByEnterprise(GlobalSecondaryIndex):
    """A head's list (§2.2), newest first, paged without reading the whole enterprise."""

    class Meta:
        index_name = "by-enterprise"
        projection = KeysOnlyProjection()

    enterprise_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Staff(Model):
    """A person registered by an enterprise head (§2.2). One record per enterprise and ID number: the
    key is (enterprise, HMAC of the normalized ID), so the uniqueness rule is the table's own key.
    Health (NAT, vaccination) lives per person elsewhere, so re-importing a person never erases it."""

    class Meta(metaclass=_LazyTableName):
        base_name = "staff"
        billing_mode = "PAY_PER_REQUEST"

    enterprise_id = UnicodeAttribute(hash_key=True)
    person_key = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    id_number = UnicodeAttribute()
    phone = UnicodeAttribute()
    person_category = UnicodeAttribute(null=True)
    residence_type = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    extra = MapAttribute(default=dict)
    town = UnicodeAttribute()
    category = UnicodeAttribute()
    scope = UnicodeAttribute()  # f"{category}#{town}" of the enterprise, for the ledger index
    reach = UnicodeAttribute(null=True)  # f"{district}#{category}" of the enterprise (geography.reach_of)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    moved_from = UnicodeAttribute(null=True)  # the key a person-key rotation moved it from (services/health/rekey.py)

    by_person = StaffByPerson()
    by_scope = StaffByScope()
    by_reach = StaffByReach()
    by_enterprise = StaffByEnterprise()


class UniqueKey(Model):
    """A claimed natural key (e.g. an enterprise name within a town), written in the same transaction as
    the record that owns it, so that uniqueness never depends on a read-then-write."""

    class Meta(metaclass=_LazyTableName):
        base_name = "unique-keys"
        billing_mode = "PAY_PER_REQUEST"

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()


class ImportJob(Model):
    """One background job a user started and a page polls: an uploaded workbook and what its import did,
    or an export being built (kind "export:<what>", services/jobs/exports.py)."""

    class Meta(metaclass=_LazyTableName):
        base_name = "import-jobs"
        billing_mode = "PAY_PER_REQUEST"

    job_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # "enterprises" or "staff" (imports), "export:ledger" (exports)
    owner = UnicodeAttribute()  # the session subject who uploaded it
    owner_role = UnicodeAttribute()
    filename = UnicodeAttribute()
    object_key = UnicodeAttribute()
    status = UnicodeAttribute(default="queued")  # queued → running → done | failed (services/jobs/lifecycle.py)
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)  # deliveries that claimed it
    total = NumberAttribute(default=0)
    processed = NumberAttribute(default=0)  # rows handled so far, for the progress bar
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    message = UnicodeAttribute(null=True)
    failure_key = UnicodeAttribute(null=True)
    params = UnicodeAttribute(null=True)  # an export's filters, JSON
    result_key = UnicodeAttribute(null=True)  # an export's workbook under exports/
    audit_action = UnicodeAttribute(null=True)  # an export: what handing its file out is audited as,
    audit_scope = UnicodeAttribute(null=True)  # and its 范围 in words, both fixed when it was asked for
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    # an import: by when its file must be in S3 (the presigned upload's expiry and the time an upload begun
    # just before it may take); a job still queued after it, with no file, ends failed when read
    upload_until = UTCDateTimeAttribute(null=True)


class AuditEvent(Model):
    """One entry of the audit log (services/identity/audit.py): who did what, from where. Partitioned by month."""

    class Meta(metaclass=_LazyTableName):
        base_name = "audit"
        billing_mode = "PAY_PER_REQUEST"

    month = UnicodeAttribute(hash_key=True)  # YYYY-MM, Asia/Shanghai
    at_id = UnicodeAttribute(range_key=True)  # ISO instant + "#" + random suffix, so it sorts by time
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    scope = UnicodeAttribute(null=True)
    rows = NumberAttribute(default=0)
    actor_key = UnicodeAttribute(null=True)  # keyed hash of who, so a masked phone can still be filtered on
    outcome = UnicodeAttribute(null=True)  # 成功, 失败, 拒绝
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class HealthRecord(Model):
    """One NAT sample or one vaccination dose of a person, as a provincial feed reported it.

    The key makes a record its own identity: (person, "nat#<sampled at>#<source>") or (person,
    "vax#<dose>"), so a file delivered twice, or two files with overlapping rows, write the same items.
    Only what matching needs is kept (no name, no ID number: the person key is a keyed hash), and NAT
    records expire 14 days after sampling. Vaccination records of people nobody registered expire too.
    """

    class Meta(metaclass=_LazyTableName):
        base_name = "health-records"
        billing_mode = "PAY_PER_REQUEST"

    person_key = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # "nat" | "vaccine"
    sampled_at = UTCDateTimeAttribute(null=True)
    tested_at = UTCDateTimeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    site = UnicodeAttribute(null=True)
    dose = NumberAttribute(null=True)
    vaccinated_on = UnicodeAttribute(null=True)  # YYYY-MM-DD
    product = UnicodeAttribute(null=True)
    unit = UnicodeAttribute(null=True)
    feed_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class PersonHealth(Model):
    """A person's health state as the ledger and the head's home read it, one item per ID number.

    It exists for every registered person (registration creates it), and for a person no enterprise
    registers any more (`pending`, expiring with their kept records). What feeds say of people nobody
    registered is not here but in the stranger index (store/feeds.StrangerShard).
    """

    class Meta(metaclass=_LazyTableName):
        base_name = "person-health"
        billing_mode = "PAY_PER_REQUEST"

    person_key = UnicodeAttribute(hash_key=True)
    registered = BooleanAttribute(default=False)
    registered_at = UTCDateTimeAttribute(null=True)  # the night looks again at the stranger index for the newest
    pending = BooleanAttribute(default=False)
    last_sampled_at = UTCDateTimeAttribute(null=True)
    last_tested_at = UTCDateTimeAttribute(null=True)
    last_result = UnicodeAttribute(null=True)
    last_site = UnicodeAttribute(null=True)
    dose1_at = UnicodeAttribute(null=True)
    dose2_at = UnicodeAttribute(null=True)
    dose3_at = UnicodeAttribute(null=True)
    products = UnicodeAttribute(null=True)
    dose1_product = UnicodeAttribute(null=True)  # per dose: the schedules' gaps depend on the course's product
    dose2_product = UnicodeAttribute(null=True)
    dose3_product = UnicodeAttribute(null=True)
    # every sample of the last 14 days as "<epoch s>:<N|P|U>:<site tag>" (a set: a redelivered file adds
    # nothing); the statistics' roster reads these instead of querying each person's records
    recent = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class FeedFiles(GlobalSecondaryIndex):
    """The operator's 数据接入 list: a feed kind's files, newest first."""

    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute(range_key=True)


class FeedFile(Model):
    """One dropped feed file and its report (rows read, matched, unmatched, rejected with line numbers).
    Its id is the object's key and ETag, so a redelivered event finds the file already done."""

    class Meta(metaclass=_LazyTableName):
        base_name = "feed-files"
        billing_mode = "PAY_PER_REQUEST"

    feed_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    object_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    status = UnicodeAttribute(default="running")  # running → done | quarantined | failed (services/jobs/lifecycle.py)
    lease_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)  # deliveries that claimed it
    received_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    rows_read = NumberAttribute(default=0)
    matched = NumberAttribute(default=0)
    unmatched = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    too_old = NumberAttribute(default=0)
    repeated = NumberAttribute(default=0)  # rows naming a sample or dose an earlier row of the file named
    newest_at = UnicodeAttribute(null=True)  # newest sampling time / vaccination day in the file (ISO)
    message = UnicodeAttribute(null=True)
    problems = ListAttribute(of=MapAttribute, default=list)  # [{"line": n, "reason": "…"}], first 500

    by_kind = FeedFiles()


class Recipient(MapAttribute):
    """One 高级推送人员 of a category: a 粤政易 user, optionally limited to one town."""

    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    town = UnicodeAttribute(default="")


class AlertSetting(Model):
    """告警设置 (§2.5) of one sentinel category: its testing rule and who gets its 09:00 list. A category
    never configured has no item (its default rule comes from the catalog)."""

    class Meta(metaclass=_LazyTableName):
        base_name = "alert-settings"
        billing_mode = "PAY_PER_REQUEST"

    category = UnicodeAttribute(hash_key=True)
    rule = UnicodeAttribute()  # rules/testing.py code, e.g. "3d2"
    recipients = ListAttribute(of=Recipient, default=list)
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()
    version = VersionAttribute()


ALL_MODELS: tuple[type[Model], ...] = (Account, Session, SmsCode, Throttle, Enterprise, Staff, UniqueKey, ImportJob, AuditEvent,
                                       HealthRecord, PersonHealth, FeedFile, AlertSetting, ComplianceRun,
                                       ShortfallItem, PushItem, KeyRotation, SearchEntry, FeedPart,
                                       StrangerShard, MatcherRun)
