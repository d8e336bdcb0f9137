"""One declared schema per kind of record: fields, rules, numbering, and the history in words.

``fields``: how one value is read, normalised, compared and shown; ``records``: the schema of
each kind an agency edits (exercise, secretariat member, plan, commitment, milestone,
evidence); ``history``: audit events as a person reads them.
"""

from .fields import Field, FieldError
from .records import SCHEMAS, Parsed, RecordSchema, schema_of

__all__ = ["SCHEMAS", "Field", "FieldError", "Parsed", "RecordSchema", "schema_of"]
