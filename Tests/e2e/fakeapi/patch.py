"""The three PATCH mechanisms of the apiserver.

* strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) driven by schema.py:
  maps merge, null deletes, atomic lists are replaced whole, lists with a patchMergeKey merge by
  that key with `$patch: delete` / `$patch: replace` elements, `$patch: replace|delete` on maps,
  `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`;
* JSON merge patch (RFC 7386): every list is replaced whole;
* JSON patch (RFC 6902), including `test`.
"""
import copy
import json

from . import schema as sc
from .status import APIError, bad_request, generic_unprocessable


class PatchError(Exception):
    pass


# ---- strategic merge ----------------------------------------------------------------------

def strategic_merge(original, patch, sch):
    if not isinstance(patch, dict):
        raise bad_request(f"json: cannot unmarshal {type(patch).__name__} into Go value of type map[string]interface {{}}")
    try:
        return _merge_map(copy.deepcopy(original) if original is not None else {}, patch, sch)
    except PatchError as e:
        # strategicpatch returns a plain error here; the apiserver's ErrorToAPIStatus turns a
        # non-Status error into 500 with reason Unknown and the raw message
        raise APIError(500, "Unknown", str(e))


def _go_map(m):
    return "map[" + " ".join(f"{k}:{_go_scalar(v)}" for k, v in sorted(m.items())) + "]"


def _go_scalar(v):
    if isinstance(v, dict):
        return _go_map(v)
    if isinstance(v, list):
        return "[" + " ".join(_go_scalar(x) for x in v) + "]"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _merge_map(orig, patch, sch):
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "replace":
        return patch
    if directive == "delete":
        return None
    if directive is not None:
        raise bad_request(f"Unknown patch type: {directive} in map: {_go_map(patch)}")
    retain = patch.pop("$retainKeys", None)
    if retain is not None:
        if not isinstance(retain, list):
            raise bad_request("invalid patch format for retainKeys")
        for k in list(patch):
            if not k.startswith("$") and k not in retain:
                raise APIError(422, "Invalid", "the server rejected our request due to an error in our request", {})
        orig = {k: v for k, v in orig.items() if k in retain}
    orders = {}
    for k in [k for k in patch if k.startswith("$setElementOrder/")]:
        orders[k.split("/", 1)[1]] = patch.pop(k)
    for k in [k for k in patch if k.startswith("$deleteFromPrimitiveList/")]:
        field = k.split("/", 1)[1]
        remove = patch.pop(k)
        if isinstance(orig.get(field), list) and isinstance(remove, list):
            orig[field] = [x for x in orig[field] if x not in remove]
    for k, pv in patch.items():
        sub = sc.sub_schema(sch, k)
        if pv is None:
            orig.pop(k, None)
            continue
        ov = orig.get(k)
        if isinstance(pv, dict) and (sub is None or (isinstance(sub, dict) and "__list__" not in sub)):
            if not isinstance(ov, dict):
                ov = {}
                # `$patch: delete` of a map that does not exist is a no-op
            merged = _merge_map(ov, pv, sub)
            if merged is None:
                orig.pop(k, None)
            else:
                orig[k] = merged
        elif isinstance(pv, list) and isinstance(sub, dict) and "__list__" in sub:
            merged = _merge_list(ov if isinstance(ov, list) else [], pv, sub, k)
            orig[k] = merged
        else:
            orig[k] = _strip_directives(pv)
    for field, order in orders.items():
        sub = sc.sub_schema(sch, field)
        if isinstance(orig.get(field), list) and isinstance(sub, dict) and "__list__" in sub:
            orig[field] = _apply_order(orig[field], order, sub.get("merge_key"))
    return orig


def _strip_directives(v):
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def _merge_list(orig, patch, sub, field):
    key = sub.get("merge_key")
    item_sch = sub["__list__"]
    if sub.get("primitive_merge"):
        out = list(orig)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    if not key:
        # atomic list (e.g. spec.taints): replaced whole, directives have no meaning here
        return _strip_directives(patch)
    # `{"$patch": "replace"}` element: the list becomes the other elements
    if any(isinstance(x, dict) and x.get("$patch") == "replace" and len(x) == 1 for x in patch):
        return [_strip_directives(x) for x in patch if not (isinstance(x, dict) and x.get("$patch") == "replace")]
    out = [copy.deepcopy(x) for x in orig]
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"unable to find api field in struct for the key {field}")
        if key not in item:
            raise PatchError(f"map: {_go_map(item)} does not contain declared merge key: {key}")
        kv = item[key]
        directive = item.get("$patch")
        if directive == "delete":
            out = [x for x in out if not (isinstance(x, dict) and x.get(key) == kv)]
            continue
        if directive is not None:
            raise bad_request(f"Unknown patch type: {directive} in map: {_go_map(item)}")
        for i, x in enumerate(out):
            if isinstance(x, dict) and x.get(key) == kv:
                out[i] = _merge_map(x, item, item_sch)
                break
        else:
            out.append(_merge_map({}, item, item_sch))
    return out


def _apply_order(items, order, key):
    """$setElementOrder: the listed elements in the given order; elements the patch did not
    list keep their relative server order and are placed after them (a simplification of
    strategicpatch.normalizeElementOrder)."""
    if not key:
        ordered = [x for x in order if x in items]
        return ordered + [x for x in items if x not in ordered]
    pos = {}
    for i, o in enumerate(order):
        if isinstance(o, dict) and key in o:
            pos.setdefault(o[key], i)
    listed = sorted([x for x in items if isinstance(x, dict) and x.get(key) in pos], key=lambda x: pos[x[key]])
    rest = [x for x in items if not (isinstance(x, dict) and x.get(key) in pos)]
    return listed + rest


# ---- JSON merge patch (RFC 7386) ----------------------------------------------------------

def merge_patch(original, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(original) if isinstance(original, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---- JSON patch (RFC 6902) ----------------------------------------------------------------

def _tokens(pointer):
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid path {pointer}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc, pointer):
    toks = _tokens(pointer)
    if not toks:
        raise PatchError("root path not supported")
    cur = doc
    for t in toks[:-1]:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError(f"doc is missing path: \"{pointer}\"")
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                cur = cur[int(t)]
            except (ValueError, IndexError):
                raise PatchError(f"doc is missing path: \"{pointer}\"")
        else:
            raise PatchError(f"doc is missing path: \"{pointer}\"")
    return cur, toks[-1]


def _get(doc, pointer):
    cur = doc
    for t in _tokens(pointer):
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                i = int(t)
                if i < 0:
                    raise IndexError
                cur = cur[i]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
    return cur


_MISSING = object()


def _index(lst_, t, allow_end):
    if t == "-" and allow_end:
        return len(lst_)
    try:
        i = int(t)
    except ValueError:
        raise PatchError(f"Unable to access invalid index: {t}")
    if i < 0 or i > len(lst_) or (i == len(lst_) and not allow_end):
        raise PatchError(f"Unable to access invalid index: {i}")
    return i


def _add(doc, path, value):
    par, t = _parent(doc, path)
    if isinstance(par, dict):
        par[t] = value
    elif isinstance(par, list):
        par.insert(_index(par, t, True), value)
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: \"{path}\"")


def _remove(doc, path):
    par, t = _parent(doc, path)
    if isinstance(par, dict):
        if t not in par:
            raise PatchError(f"remove operation does not apply: doc is missing key: {path}")
        return par.pop(t)
    if isinstance(par, list):
        return par.pop(_index(par, t, False))
    raise PatchError(f"remove operation does not apply: doc is missing path: \"{path}\"")


def json_patch(original, ops):
    """Returns the patched document; raises APIError 422 (generic) on any operation failure,
    400 on a malformed patch document, like the apiserver."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(original)
    try:
        for op in ops:
            if not isinstance(op, dict):
                raise bad_request("json: cannot unmarshal into Go value of type jsonpatch.Operation")
            kind = op.get("op")
            path = op.get("path")
            if path is None and kind in ("add", "remove", "replace", "move", "copy", "test"):
                raise PatchError(f"{kind} operation failed to decode path")
            if kind == "add":
                if "value" not in op:
                    raise PatchError("add operation failed to decode value")
                _add(doc, path, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, path)
            elif kind == "replace":
                if "value" not in op:
                    raise PatchError("replace operation failed to decode value")
                if _get(doc, path) is _MISSING:
                    raise PatchError(f"replace operation does not apply: doc is missing key: {path}")
                par, t = _parent(doc, path)
                if isinstance(par, list):
                    par[_index(par, t, False)] = copy.deepcopy(op["value"])
                else:
                    par[t] = copy.deepcopy(op["value"])
            elif kind == "move":
                v = _remove(doc, op.get("from", ""))
                _add(doc, path, v)
            elif kind == "copy":
                v = _get(doc, op.get("from", ""))
                if v is _MISSING:
                    raise PatchError("copy operation does not apply: doc is missing from path")
                _add(doc, path, copy.deepcopy(v))
            elif kind == "test":
                cur = _get(doc, path)
                want = op.get("value", None)
                if cur is _MISSING:
                    cur = None
                if not _json_equal(cur, want):
                    raise PatchError(f"testing value {path} failed: test failed")
            else:
                raise PatchError(f"Unexpected kind: {kind}")
    except PatchError as e:
        err = generic_unprocessable()
        err.debug = str(e)
        raise err
    return doc


def _json_equal(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
