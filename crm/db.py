"""Small database functions the ORM lacks."""

from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models import BooleanField, Func, IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL


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


def any_of(column: str, values: Iterable) -> Q:
    """`column = ANY(array)`: one parameter instead of thousands to bind and plan, and the same SQL for any number
    of values (so a compiled query can be re-bound, see `ReboundQuery`)."""
    values = values if isinstance(values, list) else list(values)
    condition = RawSQL(f"{connection.ops.quote_name(column)} = ANY(%s)", (values,), output_field=BooleanField())
    return Q(condition)


class ReboundQuery:
    """A query the ORM builds and compiles once per process, then only re-binds to new values.

    Building and compiling a rich ORM query (subqueries, conditional expressions) costs milliseconds, more than
    running it for one row; on a hot path (a lead arriving) that is most of the work. `build(**markers)` returns
    the queryset (or its `(sql, params)`), built with the marker values; `bind(**values)` gives the same SQL with
    each marker's parameter replaced by the value. Markers must be values no real call passes (a far-past
    datetime, a list object of their own): a marker missing from the parameters is refused at the first bind.
    """

    def __init__(self, build: Callable[..., QuerySet | tuple[str, list]], **markers) -> None:
        self._build, self._markers = build, markers
        self._compiled: tuple[str, list, dict[int, str]] | None = None

    def _compile(self) -> tuple[str, list, dict[int, str]]:
        built = self._build(**self._markers)
        sql, params = built.query.sql_with_params() if isinstance(built, QuerySet) else built
        positions = {}
        for index, param in enumerate(params):
            for name, marker in self._markers.items():
                if param is marker or (type(param) is type(marker) and not isinstance(param, list) and param == marker):
                    positions[index] = name
        missing = set(self._markers) - set(positions.values())
        if missing:
            raise RuntimeError(f"The query does not take {', '.join(sorted(missing))} as parameters.")
        return sql, list(params), positions

    def bind(self, **values) -> tuple[str, list]:
        if self._compiled is None:
            self._compiled = self._compile()
        sql, params, positions = self._compiled
        return sql, [values[positions[i]] if i in positions else p for i, p in enumerate(params)]


class Batch:
    """SQL statements sent to PostgreSQL together, in one round trip, for a hot path whose statements need no
    answer from one another (a lead arriving: its row, its response clock, scoring's note of it).

    They go as one simple query of several statements: PostgreSQL runs them in order, in the caller's
    transaction, each with its own snapshot, so each sees what the ones before it wrote, and the first error stops
    the rest (and fails the transaction, as a single statement would). `then` gets a statement's rows once the
    batch ran. `run` sends what is queued; a batch left unrun sends nothing, so whoever makes one runs it.
    """

    def __init__(self) -> None:
        self._statements: list[tuple[str, list, Callable[[list], None] | None]] = []

    def add(self, sql: str, params: Iterable = (), then: Callable[[list], None] | None = None) -> None:
        self._statements.append((sql, list(params), then))

    def run(self) -> None:
        statements, self._statements = self._statements, []
        if not statements:
            return
        params = [param for _sql, statement_params, _then in statements for param in statement_params]
        answers = []
        with connection.cursor() as cursor:
            cursor.execute("; ".join(sql for sql, _params, _then in statements), params)
            for index, (_sql, _params, then) in enumerate(statements):
                if index:
                    cursor.nextset()
                answers.append((then, cursor.fetchall() if cursor.description is not None else []))
        for then, rows in answers:
            if then is not None:
                then(rows)
