"""Small database functions the ORM lacks."""

from django.db.models import Func, IntegerField


class SecondsBetween(Func):
    """Whole seconds from `start` to `end` (two datetime expressions), truncated toward zero like int()."""

    output_field = IntegerField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        # The length of the interval in seconds.
        template = "CAST(TRUNC(EXTRACT(EPOCH FROM (%(expressions)s))) AS integer)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra_context)
