"""metav1.Status builders and field.Error formatting, as the apiserver renders them.

Messages follow k8s.io/apimachinery/pkg/api/errors and pkg/util/validation/field.
"""
import json


class APIError(Exception):
    """An error that becomes a metav1.Status response."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message}
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(name, kind, group=""):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    return d


def qualified(resource, group=""):
    return f"{resource}.{group}" if group else resource


def not_found(resource, name, group=""):
    return APIError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                    _details(name, resource, group))


def already_exists(resource, name, group=""):
    return APIError(409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
                    _details(name, resource, group))


def conflict(resource, name, group=""):
    msg = (f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": '
           "the object has been modified; please apply your changes to the latest version and try again")
    return APIError(409, "Conflict", msg, _details(name, resource, group))


def bad_request(message):
    return APIError(400, "BadRequest", message)


def internal_error(message):
    return APIError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


def unauthorized():
    return APIError(401, "Unauthorized", "Unauthorized")


def method_not_allowed():
    # errors.NewMethodNotSupported renders like this for an unknown verb on a resource
    return APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def unsupported_media_type(accepted):
    return APIError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def generic_unprocessable():
    # errors.NewGenericServerResponse(422, "", GroupResource{}, "", msg, 0, false):
    # the server message is dropped, details is an empty object.
    return APIError(422, "Invalid", "the server rejected our request due to an error in our request", {})


def timeout_error(message, retry_after):
    return APIError(504, "Timeout", f"Timeout: {message}", {"retryAfterSeconds": retry_after})


def expired(message):
    return APIError(410, "Expired", message)


# ---- field errors -------------------------------------------------------------------------

TYPE_STRINGS = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}

_OMIT = object()


def go_value(v):
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, sort_keys=False, separators=(",", ":"))


class FieldError:
    def __init__(self, type_, field, value=_OMIT, detail=""):
        self.type = type_
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):
        t = TYPE_STRINGS[self.type]
        if self.type in ("FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong",
                         "InternalError") or self.value is _OMIT:
            s = t
        elif isinstance(self.value, _Raw):
            s = f"{t}: {self.value.text}"
        else:
            s = f"{t}: {go_value(self.value)}"
        if self.detail:
            s += f": {self.detail}"
        return s

    def __str__(self):
        return f"{self.field}: {self.body()}"


class _Raw:
    def __init__(self, text):
        self.text = text


def raw(text):
    return _Raw(text)


def required(field, detail=""):
    return FieldError("FieldValueRequired", field, _OMIT, detail)


def invalid(field, value, detail):
    return FieldError("FieldValueInvalid", field, value, detail)


def not_supported(field, value, valid):
    return FieldError("FieldValueNotSupported", field, value,
                      "supported values: " + ", ".join(json.dumps(v) for v in valid))


def duplicate(field, value, detail=""):
    return FieldError("FieldValueDuplicate", field, value, detail)


def invalid_error(kind, name, errs, group=""):
    """errors.NewInvalid(GroupKind, name, errs)."""
    causes = [{"reason": e.type, "message": e.body(), "field": e.field} for e in errs]
    if len(errs) == 1:
        agg = str(errs[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errs) + "]"
    gk = f"{kind}.{group}" if group else kind
    msg = f'{gk} "{name}" is invalid: {agg}'
    d = _details(name, kind, group)
    d["causes"] = causes
    return APIError(422, "Invalid", msg, d)
