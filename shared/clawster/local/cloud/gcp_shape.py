"""Google's REST wire for the GCP stand-in: its error answers (Answer), and the JSON shape its front end accepts
for a request body, checked against the API's own message descriptors (the same protos the official clients are
generated from): an unknown field or a value of the wrong type is refused with Google's wording and the field's
path, before any rule of the service itself is looked at.

    errors = shape_errors(body, run_v2.Service.pb(run_v2.Service()).DESCRIPTOR, "service")
    # [("service.template.containers[0]", 'Invalid JSON payload received. Unknown name "imagee" at ...')]
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

_INTS = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64,
         FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_FIXED32,
         FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SFIXED64}
_TYPE_NAMES = {value: name for name, value in vars(FieldDescriptor).items() if name.startswith("TYPE_")}
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")

Problem = tuple[str, str]  # (field path, Google's description)
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


class Answer(Exception):
    """An error answer in Google's JSON form; `violations` are (field, description) pairs."""

    def __init__(self, code: int, message: str, violations: list[Problem] | None = None, status: str = ""):
        super().__init__(message)
        self.code, self.message, self.violations, self.status = code, message, violations or [], status or STATUS[code]

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message, "status": self.status}
        if self.violations:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                {"field": where, "description": description} for where, description in self.violations]}]
        return {"error": error}


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shape_errors(value: Any, descriptor: Descriptor, path: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [(path, f"Invalid value at '{path}' (type.googleapis.com/{descriptor.full_name}), {_show(value)}")]
    fields = {f.json_name: f for f in descriptor.fields} | {f.name: f for f in descriptor.fields}
    errors: list[Problem] = []
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            errors.append((path, f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': Cannot find field."))
            continue
        where = f"{path}.{field.name}"
        if item is None:  # JSON null is the field's default, as Google's parser reads it
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            errors += _map_errors(item, field, where)
        elif field.is_repeated:
            if not isinstance(item, list):
                errors.append((where, f"Invalid value at '{where}', a list was expected: {_show(item)}"))
                continue
            for index, element in enumerate(item):
                errors += _single_errors(element, field, f"{where}[{index}]")
        else:
            errors += _single_errors(item, field, where)
    for oneof in descriptor.oneofs:
        chosen = [f.name for f in oneof.fields if len(oneof.fields) > 1 and value.get(f.json_name, value.get(f.name)) is not None]
        if len(chosen) > 1:
            errors.append((path, f"Invalid JSON payload received. Multiple values for oneof \"{oneof.name}\" at '{path}': "
                                 f"{', '.join(chosen)}; they are mutually exclusive."))
    return errors


def _map_errors(value: Any, field: FieldDescriptor, where: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [(where, f"Invalid value at '{where}', a map was expected: {_show(value)}")]
    entry = field.message_type.fields_by_name["value"]
    return [problem for key, item in value.items() for problem in _single_errors(item, entry, f'{where}["{key}"]')]


def _single_errors(value: Any, field: FieldDescriptor, where: str) -> list[Problem]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name == "google.protobuf.Duration":
            ok = isinstance(value, str) and _DURATION.match(value)
        elif name == "google.protobuf.Timestamp":
            ok = isinstance(value, str) and _TIMESTAMP.match(value)
        else:
            return shape_errors(value, field.message_type, where)
    elif field.type == FieldDescriptor.TYPE_ENUM:
        names = {v.name for v in field.enum_type.values}
        numbers = {v.number for v in field.enum_type.values}
        ok = (isinstance(value, str) and value in names) or (_is_int(value) and value in numbers)
        if not ok:
            return [(where, f"Invalid value at '{where}' (type.googleapis.com/{field.enum_type.full_name}), {_show(value)}")]
    elif field.type == FieldDescriptor.TYPE_STRING:
        ok = isinstance(value, str)
    elif field.type == FieldDescriptor.TYPE_BOOL:
        ok = isinstance(value, bool)
    elif field.type in _INTS:  # int64s travel as strings in JSON; both forms are accepted
        ok = _is_int(value) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
    elif field.type == FieldDescriptor.TYPE_BYTES:
        ok = isinstance(value, str) and _base64(value)
    else:  # float, double
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        return []
    return [(where, f"Invalid value at '{where}' ({_TYPE_NAMES.get(field.type, 'TYPE_UNKNOWN')}), {_show(value)}")]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _base64(text: str) -> bool:
    try:
        base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None,
                         validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 80 else text[:77] + "..."
