"""Small database functions the ORM lacks, written once for every backend the CRM runs on."""

from django.db.models import Func, IntegerField


class SecondsBetween(Func):
    """Whole seconds from `start` to `end` (two datetime expressions), truncated toward zero like int()."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # PostgreSQL: the length of the interval in seconds.
        template = "CAST(TRUNC(EXTRACT(EPOCH FROM (%(expressions)s))) AS integer)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # julianday() is a float of days: rounding to the millisecond first keeps 300.0 s from becoming 299.
        template = "CAST(ROUND((julianday(%(expressions)s)) * 86400.0, 3) AS INTEGER)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra_context)
