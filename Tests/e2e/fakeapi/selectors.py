"""Field and label selectors (k8s.io/apimachinery/pkg/fields, pkg/labels)."""
import re

from .status import bad_request


def parse_field_selector(s):
    """Returns [(field, op, value)] with op in '=', '!='. Supports the escapes of fields.EscapeValue."""
    reqs = []
    if not s:
        return reqs
    for term in _split_unescaped(s, ","):
        if not term:
            continue
        m = None
        for op in ("!=", "==", "="):
            idx = _find_unescaped(term, op)
            if idx >= 0:
                m = (term[:idx], "!=" if op == "!=" else "=", _unescape(term[idx + len(op):]))
                break
        if m is None:
            raise bad_request(f'invalid selector: \'{s}\'; can\'t understand \'{term}\'')
        reqs.append(m)
    return reqs


def _split_unescaped(s, sep):
    out, cur, esc = [], "", False
    for ch in s:
        if esc:
            cur += "\\" + ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == sep:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _find_unescaped(s, op):
    i = 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s.startswith(op, i):
            return i
        i += 1
    return -1


def _unescape(v):
    out, esc = "", False
    for ch in v:
        if esc:
            out += ch
            esc = False
        elif ch == "\\":
            esc = True
        else:
            out += ch
    return out


def check_fields(reqs, supported, resource):
    for f, _, _ in reqs:
        if f not in supported:
            raise bad_request(f'field label not supported: {f}')


def match_fields(reqs, fieldset):
    for f, op, v in reqs:
        have = fieldset.get(f, "")
        if op == "=" and have != v:
            return False
        if op == "!=" and have == v:
            return False
    return True


_LBL = re.compile(r"\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=|\s+in\s+|\s+notin\s+)\s*(\([^)]*\)|[A-Za-z0-9_.-]*))?\s*")


def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    i = 0
    # split on commas outside parentheses
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        m = _LBL.fullmatch(p)
        if not m:
            raise bad_request(f"unable to parse requirement: {p}")
        neg, key, op, val = m.groups()
        if neg:
            if op:
                raise bad_request(f"unable to parse requirement: {p}")
            reqs.append((key, "!exists", None))
        elif not op:
            reqs.append((key, "exists", None))
        else:
            op = op.strip()
            if op in ("in", "notin"):
                vals = {x.strip() for x in val.strip("()").split(",")}
                reqs.append((key, op, vals))
            else:
                reqs.append((key, "!=" if op == "!=" else "=", val))
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for k, op, v in reqs:
        if op == "exists" and k not in labels:
            return False
        if op == "!exists" and k in labels:
            return False
        if op == "=" and labels.get(k) != v:
            return False
        if op == "!=" and labels.get(k) == v:
            return False
        if op == "in" and labels.get(k) not in v:
            return False
        if op == "notin" and k in labels and labels[k] in v:
            return False
    return True
