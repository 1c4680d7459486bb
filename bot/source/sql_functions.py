"""Which function calls a helpdesk query may make, and SQL that databases read differently.

A keyword check cannot see `set_config(…)`, `dblink_exec(…)`, `pg_advisory_lock(…)` or
`GET_LOCK(…)`: they are function calls. So every call in the query must name a function
from an allow-list of pure ones (casts, conditionals, string, date and time zone, JSON
extraction, math, aggregates and window functions); anything else is refused by name.

The check reads tokens from sqlparse, which lexes one generic SQL. Where PostgreSQL,
MySQL/MariaDB and SQLite would read the same text differently, something the check
takes for a comment or a string could run as code. Those forms are refused outright:
MariaDB/MySQL executable comments and optimizer hints (`/*! … */`, `/*M! … */`,
`/*+ … */`), `#` comments, `--` without a following space, backslash-escaped quotes and
dollar-quoted strings.
"""

from __future__ import annotations

import re

import sqlparse
from sqlparse import tokens as T

CASTS_AND_CONDITIONALS = frozenset(
    {
        "cast",
        "try_cast",
        "convert",
        "binary",
        "coalesce",
        "ifnull",
        "nullif",
        "isnull",
        "nvl",
        "if",
        "iif",
        "greatest",
        "least",
        "row",
        "array",
    }
)
STRING_FUNCTIONS = frozenset(
    {
        "lower",
        "upper",
        "lcase",
        "ucase",
        "initcap",
        "trim",
        "ltrim",
        "rtrim",
        "btrim",
        "substr",
        "substring",
        "substring_index",
        "left",
        "right",
        "mid",
        "length",
        "len",
        "char_length",
        "character_length",
        "octet_length",
        "bit_length",
        "concat",
        "concat_ws",
        "replace",
        "translate",
        "reverse",
        "repeat",
        "space",
        "lpad",
        "rpad",
        "position",
        "strpos",
        "instr",
        "locate",
        "split_part",
        "format",
        "printf",
        "to_char",
        "to_number",
        "char",
        "chr",
        "ascii",
        "ord",
        "unicode",
        "hex",
        "unhex",
        "to_hex",
        "md5",
        "encode",
        "decode",
        "convert_from",
        "convert_to",
        "regexp_replace",
        "regexp_substr",
        "regexp_instr",
        "regexp_like",
        "regexp_match",
        "regexp_matches",
        "overlay",
        "starts_with",
        "quote",
        "typeof",
        "collate",
        "string_to_array",
        "unnest",
        "array_to_string",
        "array_length",
        "cardinality",
        "bin_to_uuid",
        "uuid_to_bin",
        "inet_ntoa",
        "field",
        "elt",
        "match",
    }
)
DATE_AND_ZONE_FUNCTIONS = frozenset(
    {
        "now",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
        "utc_timestamp",
        "utc_date",
        "utc_time",
        "sysdate",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "date",
        "time",
        "datetime",
        "timestamp",
        "julianday",
        "strftime",
        "unixepoch",
        "date_trunc",
        "date_part",
        "date_bin",
        "extract",
        "age",
        "make_date",
        "make_time",
        "make_timestamp",
        "make_timestamptz",
        "make_interval",
        "to_timestamp",
        "to_date",
        "timezone",
        "convert_tz",
        "date_format",
        "time_format",
        "str_to_date",
        "from_unixtime",
        "unix_timestamp",
        "date_add",
        "date_sub",
        "adddate",
        "subdate",
        "addtime",
        "subtime",
        "datediff",
        "timediff",
        "timestampdiff",
        "timestampadd",
        "year",
        "month",
        "monthname",
        "day",
        "dayname",
        "dayofmonth",
        "dayofweek",
        "dayofyear",
        "hour",
        "minute",
        "second",
        "microsecond",
        "week",
        "weekday",
        "weekofyear",
        "yearweek",
        "quarter",
        "last_day",
        "makedate",
        "maketime",
        "sec_to_time",
        "time_to_sec",
        "to_days",
        "from_days",
        "to_seconds",
        "isfinite",
        "justify_days",
        "justify_hours",
        "justify_interval",
    }
)
JSON_FUNCTIONS = frozenset(
    {
        "json_extract",
        "json_unquote",
        "json_value",
        "json_query",
        "json_contains",
        "json_contains_path",
        "json_keys",
        "json_length",
        "json_type",
        "json_valid",
        "json_search",
        "json_object",
        "json_array",
        "json_quote",
        "json_extract_path",
        "json_extract_path_text",
        "jsonb_extract_path",
        "jsonb_extract_path_text",
        "json_array_length",
        "jsonb_array_length",
        "json_typeof",
        "jsonb_typeof",
        "json_array_elements",
        "json_array_elements_text",
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "json_each",
        "json_each_text",
        "jsonb_each",
        "jsonb_each_text",
        "jsonb_path_query",
        "jsonb_path_query_first",
        "jsonb_path_exists",
        "json_build_object",
        "jsonb_build_object",
        "json_build_array",
        "jsonb_build_array",
        "to_json",
        "to_jsonb",
        "row_to_json",
        "json",
        "json_group_array",
        "json_group_object",
    }
)
MATH_FUNCTIONS = frozenset(
    {
        "abs",
        "ceil",
        "ceiling",
        "floor",
        "round",
        "trunc",
        "truncate",
        "mod",
        "div",
        "power",
        "pow",
        "sqrt",
        "cbrt",
        "exp",
        "ln",
        "log",
        "log10",
        "log2",
        "sign",
        "pi",
        "degrees",
        "radians",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "atan2",
        "width_bucket",
    }
)
AGGREGATE_AND_WINDOW_FUNCTIONS = frozenset(
    {
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "bool_and",
        "bool_or",
        "every",
        "string_agg",
        "group_concat",
        "array_agg",
        "json_agg",
        "jsonb_agg",
        "json_arrayagg",
        "json_objectagg",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
    }
)
# Type names written like calls: `CONVERT(x, DECIMAL(10,2))`, `numeric(x)`, `char(36)`.
TYPE_NAMES = frozenset(
    {
        "char",
        "nchar",
        "varchar",
        "nvarchar",
        "character",
        "text",
        "decimal",
        "dec",
        "numeric",
        "float",
        "double",
        "real",
        "int",
        "integer",
        "bigint",
        "smallint",
        "signed",
        "unsigned",
        "bit",
        "varbinary",
        "timestamptz",
        "interval",
        "uuid",
        "bool",
        "boolean",
        "jsonb",
    }
)
ALLOWED_FUNCTIONS = (
    TYPE_NAMES
    | CASTS_AND_CONDITIONALS
    | STRING_FUNCTIONS
    | DATE_AND_ZONE_FUNCTIONS
    | JSON_FUNCTIONS
    | MATH_FUNCTIONS
    | AGGREGATE_AND_WINDOW_FUNCTIONS
)
# Schemas a qualified call may name (PostgreSQL's built-ins); any other qualifier could
# be a user-defined function that shadows a safe name.
ALLOWED_QUALIFIERS = frozenset({"pg_catalog"})

# Keywords that may stand before `(` without being a function call.
_SYNTAX_BEFORE_PAREN = frozenset(
    {
        "IN",
        "EXISTS",
        "AS",
        "FROM",
        "JOIN",
        "ON",
        "USING",
        "VALUES",
        "OVER",
        "AND",
        "OR",
        "NOT",
        "XOR",
        "WHERE",
        "SELECT",
        "WHEN",
        "THEN",
        "ELSE",
        "BY",
        "ALL",
        "ANY",
        "SOME",
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "MINUS",
        "LATERAL",
        "FILTER",
        "GROUP",
        "HAVING",
        "DISTINCT",
        "IS",
        "LIKE",
        "ILIKE",
        "RLIKE",
        "REGEXP",
        "BETWEEN",
        "SIMILAR",
        "TO",
        "ESCAPE",
        "CASE",
        "WITH",
        "RECURSIVE",
        "MATERIALIZED",
        "LIMIT",
        "OFFSET",
        "FETCH",
        "WINDOW",
        "PARTITION",
        "AGAINST",
        "INTERVAL",
        "DIV",
        "RETURNING",
    }
)
# Words that open a clause after an aggregate's `)`; elsewhere they could name a function.
_AFTER_A_CALL = frozenset({"FILTER", "OVER", "WITHIN"})
_EXECUTABLE_COMMENT = re.compile(r"^/\*\s*(!|M!|\+)", re.IGNORECASE)
_NAME_TYPES = (T.Name, T.Literal.String.Symbol)


class UnsafeSQL(ValueError):
    """The reason a query is refused (without the setting's name)."""


def _significant(statement: sqlparse.sql.Statement) -> list[sqlparse.sql.Token]:
    return [t for t in statement.flatten() if not t.is_whitespace and t.ttype not in T.Comment]


def check_lexing(statement: sqlparse.sql.Statement) -> None:
    """Refuse SQL whose comments or strings end in different places on different databases."""
    for token in statement.flatten():
        value = token.value
        if token.ttype in T.Comment:
            if _EXECUTABLE_COMMENT.match(value):
                raise UnsafeSQL(
                    "holds a MariaDB/MySQL executable comment or hint (`/*! … */`, "
                    "`/*+ … */`); the database runs what is inside, so it is refused"
                )
            if value.startswith("#"):
                raise UnsafeSQL(
                    "holds a `#` comment, which PostgreSQL reads as an operator; use `-- `"
                )
            if value.startswith("--") and len(value) > 2 and not value[2].isspace():
                raise UnsafeSQL(
                    "holds `--` not followed by a space, which MySQL reads as two minus "
                    "signs; write `-- comment`"
                )
        elif token.ttype in T.Literal.String or token.ttype in T.String:
            if token.ttype in T.Literal.String.Symbol:
                continue  # "identifier" or `identifier`
            if "\\'" in value or '\\"' in value:
                raise UnsafeSQL(
                    "holds a backslash before a quote inside a string, which databases "
                    "read differently; double the quote instead ('it''s')"
                )
        elif token.ttype in T.Literal and value.startswith("$"):
            raise UnsafeSQL("holds a dollar-quoted string; use '…' strings")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"`':
        return value[1:-1]
    return value


def _closing(tokens: list[sqlparse.sql.Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index].match(T.Punctuation, "("):
            depth += 1
        elif tokens[index].match(T.Punctuation, ")"):
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _is_cte_columns(tokens: list[sqlparse.sql.Token], opening: int) -> bool:
    """`name(a, b) AS (` in a WITH clause: a column list, not a call."""
    after = tokens[_closing(tokens, opening) + 1 : _closing(tokens, opening) + 4]
    words = [t.normalized.upper() for t in after]
    if not words or words[0] != "AS":
        return False
    rest = [w for w in words[1:] if w not in {"NOT", "MATERIALIZED"}]
    return bool(rest) and rest[0] == "("


def check_functions(statement: sqlparse.sql.Statement) -> None:
    """Refuse a call of any function outside ALLOWED_FUNCTIONS, naming it."""
    tokens = _significant(statement)
    for index, token in enumerate(tokens):
        if index == 0 or not token.match(T.Punctuation, "("):
            continue
        before = tokens[index - 1]
        if before.ttype in T.Punctuation or before.ttype in T.Operator:
            continue  # `((`, `+ (`, `, (`: grouping, not a call
        if before.is_keyword and before.normalized.upper().split()[-1] in _SYNTAX_BEFORE_PAREN:
            continue
        if (
            before.value.upper() in _AFTER_A_CALL
            and index >= 2
            and tokens[index - 2].match(T.Punctuation, ")")
        ):
            continue  # `count(*) FILTER (WHERE …)`, `row_number() OVER (…)`
        if (
            before.value.upper() in {"ANY", "SOME", "ALL"}
            and index >= 2
            and tokens[index - 2].ttype in T.Operator.Comparison
        ):
            continue  # `x = ANY (…)`: a quantified comparison
        if before.ttype in T.Keyword.TZCast:
            continue
        if not (before.is_keyword or before.ttype in _NAME_TYPES):
            continue  # a number or string before `(`: a syntax error for the database
        if index >= 2 and (
            tokens[index - 2].normalized.upper() == "AS" or tokens[index - 2].value == "::"
        ):
            continue  # a type with its size (`AS varchar(10)`, `::numeric(10,2)`) or alias columns
        if _is_cte_columns(tokens, index):
            continue
        quoted = before.ttype in T.Literal.String.Symbol or before.value.startswith("`")
        name = _unquote(before.value)
        display = name
        qualifier = None
        if index >= 3 and tokens[index - 2].match(T.Punctuation, "."):
            qualifier = _unquote(tokens[index - 3].value).lower()
            display = f"{_unquote(tokens[index - 3].value)}.{name}"
        if qualifier is not None and qualifier not in ALLOWED_QUALIFIERS:
            raise UnsafeSQL(
                f"calls {display}(), a function outside the built-in ones; only "
                "pg_catalog may qualify a call"
            )
        if (quoted and name != name.lower()) or name.lower() not in ALLOWED_FUNCTIONS:
            raise UnsafeSQL(
                f"calls {display}(), which is not a safe function (allowed: casts, CASE, "
                "COALESCE/IFNULL/NULLIF, string, date and time zone, JSON extraction, math "
                "and aggregate functions); see docs/source-safety.md"
            )
