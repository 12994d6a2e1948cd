"""Validation functions ported in behaviour (and message text) from
k8s.io/apimachinery/pkg/util/validation and pkg/apis/core/validation."""
import re

from .status import invalid, required, not_supported, duplicate, raw

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                         "'-' or '.', and must start and end with an alphanumeric character")
QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', "
             "and must start and end with an alphanumeric character")
LABEL_VALUE_FMT = "(" + QNAME_FMT + ")?"
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character")

_dns_sub = re.compile("^" + DNS1123_SUBDOMAIN_FMT + "$")
_qname = re.compile("^" + QNAME_FMT + "$")
_label_value = re.compile("^" + LABEL_VALUE_FMT + "$")

TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def regex_error(msg, fmt, *examples):
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    msg += " (e.g. "
    parts = []
    for i, e in enumerate(examples):
        parts.append(("" if i == 0 else " or ") + "'" + e + "', ")
    return msg + "".join(parts) + "regex used for validation is '" + fmt + "')"


def max_len_error(n):
    return f"must be no more than {n} characters"


def is_dns1123_subdomain(value):
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _dns_sub.match(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_qualified_name(value):
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + regex_error(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _qname.match(name):
        errs.append("name part " + regex_error(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value):
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _label_value.match(value):
        errs.append(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def validate_labels(labels, path):
    errs = []
    for k, v in (labels or {}).items():
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k))
        if not isinstance(v, str):
            continue
        for m in is_valid_label_value(v):
            errs.append(invalid(path, v, m))
    return errs


def validate_annotations(ann, path):
    errs = []
    total = 0
    for k, v in (ann or {}).items():
        errs.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
        total += len(k) + len(v or "")
    if total > 256 * 1024:
        errs.append(_too_long(path))
    return errs


def _too_long(path):
    from .status import FieldError
    return FieldError("FieldValueTooLong", path, None, "must have at most 262144 bytes")


def validate_path_segment_name(name, path, prefix=False):
    errs = []
    if name in (".", ".."):
        errs.append(invalid(path, name, f"may not be '{name}'"))
    for bad in ("/", "%"):
        if bad in name:
            errs.append(invalid(path, name, f"may not contain '{bad}'"))
    return errs


def _go_taint(t):
    ta = t.get("timeAdded")
    ta_s = "<nil>" if ta is None else f'time.Date({ta})'
    return raw('core.Taint{Key:%s, Value:%s, Effect:%s, TimeAdded:%s}' % (
        _q(t.get("key", "")), _q(t.get("value", "")), _q(t.get("effect", "")), ta_s))


def _q(s):
    import json
    return json.dumps(s if isinstance(s, str) else str(s))


def validate_taints(taints, path="spec.taints"):
    """validateNodeTaints (pkg/apis/core/validation)."""
    errs = []
    seen = {}
    for i, t in enumerate(taints or []):
        p = f"{path}[{i}]"
        key = t.get("key", "") or ""
        value = t.get("value", "") or ""
        effect = t.get("effect", "") or ""
        errs.extend(invalid(p + ".key", key, m) for m in is_qualified_name(key))
        vm = is_valid_label_value(value)
        if vm:
            errs.append(invalid(p + ".value", value, ";".join(vm)))
        if not effect:
            errs.append(required(p + ".effect"))
        elif effect not in TAINT_EFFECTS:
            errs.append(not_supported(p + ".effect", effect, TAINT_EFFECTS))
        if key in seen.get(effect, set()):
            errs.append(duplicate(p, _go_taint(t), "taints must be unique by key and effect pair"))
            continue
        seen.setdefault(effect, set()).add(key)
    return errs


def validate_object_meta_update(new, old):
    errs = []
    nm, om = new.get("metadata", {}), old.get("metadata", {})
    for f in ("name", "namespace", "uid"):
        if (nm.get(f) or "") != (om.get(f) or ""):
            errs.append(invalid("metadata." + f, nm.get(f) or "", "field is immutable"))
    errs.extend(validate_labels(nm.get("labels"), "metadata.labels"))
    errs.extend(validate_annotations(nm.get("annotations"), "metadata.annotations"))
    return errs


def validate_node_update(new, old, subresource):
    errs = validate_object_meta_update(new, old)
    if subresource == "":
        errs.extend(validate_taints((new.get("spec") or {}).get("taints")))
    ns, os_ = new.get("spec") or {}, old.get("spec") or {}
    if os_.get("podCIDR") and ns.get("podCIDR") != os_.get("podCIDR"):
        errs.append(FieldForbidden("spec.podCIDR", "node updates may not change podCIDR except from \"\" to valid"))
    if os_.get("providerID") and ns.get("providerID") != os_.get("providerID"):
        errs.append(FieldForbidden("spec.providerID",
                                   "node updates may not change providerID except from \"\" to valid"))
    return errs


def FieldForbidden(field, detail):
    from .status import FieldError
    return FieldError("FieldValueForbidden", field, None, detail)


def legacy_validate_event(ev, core_v1=True):
    """legacyValidateEvent + v1-only rules (pkg/apis/core/validation/events.go)."""
    errs = []
    ns = ev.get("metadata", {}).get("namespace", "")
    inv = ev.get("involvedObject") or {}
    inv_ns = inv.get("namespace", "") or ""
    rc_field = "reportingComponent" if core_v1 else "reportingController"
    if not ev.get("eventTime"):
        if not inv_ns:
            if ns not in ("", "default"):
                errs.append(invalid("involvedObject.namespace", inv_ns, "does not match event.namespace"))
        elif ns != inv_ns:
            errs.append(invalid("involvedObject.namespace", inv_ns, "does not match event.namespace"))
    else:
        if not inv_ns and ns not in ("default", "kube-system"):
            errs.append(invalid("involvedObject.namespace", inv_ns, "does not match event.namespace"))
        rc = ev.get("reportingComponent", "") or ""
        if not rc:
            errs.append(required(rc_field))
        errs.extend(invalid(rc_field, rc, m) for m in is_qualified_name(rc))
        ri = ev.get("reportingInstance", "") or ""
        if not ri:
            errs.append(required("reportingInstance"))
        if len(ri) > 128:
            errs.append(invalid("reportingInstance", "", "can have at most 128 characters"))
        act = ev.get("action", "") or ""
        if not act:
            errs.append(required("action"))
        if len(act) > 128:
            errs.append(invalid("action", "", "can have at most 128 characters"))
        if not ev.get("reason"):
            errs.append(required("reason"))
        if len(ev.get("reason") or "") > 128:
            errs.append(invalid("reason", "", "can have at most 128 characters"))
        if len(ev.get("message") or "") > 1024:
            errs.append(invalid("message", "", "can have at most 1024 characters"))
    for m in is_dns1123_subdomain(ns):
        errs.append(invalid("namespace", ns, m))
    return errs


def strict_validate_events_v1(ev):
    """Extra create rules for events.k8s.io/v1 (fields named as in that API)."""
    errs = []
    for m in is_dns1123_subdomain(ev.get("metadata", {}).get("name", "")):
        errs.append(invalid("metadata.name", ev["metadata"].get("name", ""), m))
    if not ev.get("eventTime"):
        errs.append(required("eventTime"))
    t = ev.get("type", "") or ""
    if t not in ("Normal", "Warning"):
        errs.append(invalid("type", "", f"has invalid value: {t}"))
    if ev.get("firstTimestamp"):
        errs.append(invalid("deprecatedFirstTimestamp", "", "needs to be unset"))
    if ev.get("lastTimestamp"):
        errs.append(invalid("deprecatedLastTimestamp", "", "needs to be unset"))
    if ev.get("count"):
        errs.append(invalid("deprecatedCount", "", "needs to be unset"))
    src = ev.get("source") or {}
    if src.get("component") or src.get("host"):
        errs.append(invalid("deprecatedSource", "", "needs to be unset"))
    return errs


LEASE_STRATEGIES = ["OldestEmulationVersion"]


def validate_lease_spec(spec, path="spec"):
    """ValidateLeaseSpec (pkg/apis/coordination/validation); MicroTimes are checked when decoded."""
    from .status import FieldError
    spec = spec or {}
    errs = []
    lds = spec.get("leaseDurationSeconds")
    if lds is not None and lds <= 0:
        errs.append(invalid(path + ".leaseDurationSeconds", lds, "must be greater than 0"))
    lt = spec.get("leaseTransitions")
    if lt is not None and lt < 0:
        errs.append(invalid(path + ".leaseTransitions", lt, "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if strategy is not None:
        # the source appends .strategy to a path that already ends in strategy
        sp = path + ".strategy.strategy"
        if len(strategy.split("/")) == 1:
            if strategy not in LEASE_STRATEGIES:
                errs.append(not_supported(sp, strategy, LEASE_STRATEGIES))
        else:
            errs.extend(invalid(sp, strategy, m) for m in is_qualified_name(strategy))
    if spec.get("preferredHolder") and not strategy:
        errs.append(FieldError("FieldValueForbidden", path + ".preferredHolder", None,
                               "may only be specified if `strategy` is defined"))
    return errs
