"""FEEL as Camunda 8.8 documents it: the examples of the built-in function reference and the
language guide (docs.camunda.io, FEEL 1.19), written as our own table from the documented
results. Temporal results are checked by their FEEL type and string form."""
from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest

from zeebe_affinity_sync.engine.feel import evaluate, feel_type_name, to_string


class T(NamedTuple):
    """An expected temporal/duration value: its FEEL type name and its string form."""
    type: str
    text: str


def D(text: str) -> T:
    return T("DATE", text)


def DT(text: str) -> T:
    return T("DATE_TIME", text)


def TM(text: str) -> T:
    return T("TIME", text)


def DUR(text: str) -> T:
    return T("PERIOD" if re.fullmatch(r"-?P(\d+Y)?(\d+M)?", text) else "DURATION", text)


def check(expression: str, expected: Any, variables: Any = None) -> None:
    result = evaluate(expression, variables or {})
    if isinstance(expected, T):
        assert (feel_type_name(result), to_string(result)) == (expected.type, expected.text), \
            f"{expression!r} gave {result!r}"
    elif isinstance(expected, float):
        assert isinstance(result, float) and abs(result - expected) < 1e-12, f"{expression!r} gave {result!r}"
    else:
        assert result == expected and type(result) is type(expected), \
            f"{expression!r} gave {result!r} ({type(result).__name__}), expected {expected!r}"


BOOLEAN = [
    ("not(true)", False), ("not(null)", None), ("not(1)", None),
    ("is defined(1)", True), ("is defined(null)", False), ("is defined(x)", False),
    ("is defined(x.y)", False),
    ('get or else("this", "default")', "this"), ('get or else(null, "default")', "default"),
    ("get or else(null, null)", None),
    ('assert("value", true)', "value"),
]

STRING = [
    ('substring("foobar", 3)', "obar"), ('substring("foobar", -2)', "ar"),
    ('substring("foobar", 3, 3)', "oba"), ('substring("foobar", -3, 2)', "ba"),
    ('substring("foobar", 3, 10)', "obar"), ('substring("foobar", 0)', ""), ('substring("foobar", -7)', None),
    (r'substring("\U01F40Eab", 2)', "ab"), (r'string length("\U01F40Eab")', 3),
    ('string length("foo")', 3), ('upper case("aBc4")', "ABC4"), ('lower case("aBc4")', "abc4"),
    ('substring before("foobar", "bar")', "foo"), ('substring after("foobar", "ob")', "ar"),
    ('contains("foobar", "of")', False), ('starts with("foobar", "fo")', True),
    ('ends with("foobar", "r")', True),
    ('matches("foobar", "^fo*bar")', True), ('matches("FooBar", "foo", "i")', True),
    ('matches("foobar", "^fo*b")', True),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
    (r'replace("0123456789", "(\d{3})(\d{3})(\d{4})", "($1) $2-$3")', "(012) 345-6789"),
    ('replace("How do you feel?", "Feel", "FEEL", "i")', "How do you FEEL?"),
    ('replace("banana", "a", "o")', "bonono"),
    (r'split("John Doe", "\s")', ["John", "Doe"]), ('split("a;b;c;;", ";")', ["a", "b", "c", "", ""]),
    ('extract("references are 1234, 1256, 1378", "12[0-9]*")', ["1234", "1256"]),
    ('trim("  hello world  ")', "hello world"), ('trim("hello   world ")', "hello   world"),
    ('to base64("FEEL")', "RkVFTA=="),
    ('is blank("")', True), ('is blank(" ")', True), ('is blank("hello world")', False),
    ("string length(uuid())", 36),
    ('string join(["a","b","c"])', "abc"), ('string join(["a"], "X")', "a"),
    ('string join(["a","b","c"], ", ")', "a, b, c"),
    ('string join(["a","b","c"], ", ", "[", "]")', "[a, b, c]"),
    ('string join(["a",null,"c"])', "ac"), ("string join([])", ""), ('string join([1, "a"])', None),
    ('upper case(1)', None), ('substring("foobar", "1")', None),
]

NUMERIC = [
    ("decimal(1/3, 2)", 0.33), ("decimal(1.5, 0)", 2), ('decimal(2.5, 0, "half_up")', 3),
    ("floor(1.5)", 1), ("floor(-1.5)", -2), ("floor(-1.56, 1)", -1.6),
    ("ceiling(1.5)", 2), ("ceiling(-1.5)", -1), ("ceiling(-1.56, 1)", -1.5),
    ("round up(5.5)", 6), ("round up(-5.5)", -6), ("round up(1.121, 2)", 1.13), ("round up(-1.126, 2)", -1.13),
    ("round down(5.5)", 5), ("round down (-5.5)", -5), ("round down (1.121, 2)", 1.12),
    ("round down (-1.126, 2)", -1.12),
    ("round half up(5.5)", 6), ("round half up(-5.5)", -6), ("round half up(1.121, 2)", 1.12),
    ("round half up(-1.126, 2)", -1.13),
    ("round half down (5.5)", 5), ("round half down (-5.5)", -5), ("round half down (1.121, 2)", 1.12),
    ("round half down (-1.126, 2)", -1.13),
    ("abs(10)", 10), ("abs(-10)", 10), ("modulo(12, 5)", 2), ("modulo(-12, 5)", 3), ("modulo(12, -5)", -3),
    ("modulo(10.1, 4.5)", 1.1), ("modulo(12, 0)", None), ("modulo(-10.1, 4.5)", 3.4), ("modulo(-12, -5)", -2),
    ("sqrt(16)", 4), ("sqrt(-1)", None), ("log(10)", 2.302585092994046), ("exp(5)", 148.4131591025766),
    ("odd(5)", True), ("odd(2)", False), ("even(5)", False), ("even(2)", True),
    ("random number() >= 0 and random number() < 1", True),
    ("1 / 0", None), ("0.1 + 0.2", 0.3), ("10 / 4", 2.5), ("2 ** 3", 8), ("-2 ** 2", -4),
]

LIST = [
    ("list contains([1,2,3], 2)", True), ("list contains([1,2,3], 5)", False),
    ("count([1,2,3])", 3), ("min([1,2,3])", 1), ("min(1,2,3)", 1), ("max([1,2,3])", 3), ("max(1,2,3)", 3),
    ("min([])", None), ('min(["b", "a"])', "a"), ('max([1, "a"])', None),
    ("sum([1,2,3])", 6), ("sum(1,2,3)", 6), ("sum([])", None), ("product([2, 3, 4])", 24),
    ("product(2, 3, 4)", 24), ("mean([1,2,3])", 2), ("mean(1,2,3)", 2),
    ("median(8, 2, 5, 3, 4)", 4), ("median([6, 1, 2, 3])", 2.5),
    ("stddev(2, 4, 7, 5)", 2.0816659994661326), ("stddev([2, 4, 7, 5])", 2.0816659994661326),
    ("mode(6, 3, 9, 6, 6)", [6]), ("mode([6, 1, 9, 6, 1])", [1, 6]), ("mode([])", []),
    ("and([true,false])", False), ("and(false,null,true)", False), ("and([true, null])", None),
    ("all([true,true])", True), ("or([false,true])", True), ("or(false,null,true)", True),
    ("any([false, null])", None),
    ("sublist([1,2,3], 2)", [2, 3]), ("sublist([1,2,3], 1, 2)", [1, 2]), ("sublist([1,2,3], -1)", [3]),
    ("append([1], 2, 3)", [1, 2, 3]), ("concatenate([1,2],[3])", [1, 2, 3]),
    ("concatenate([1],[2],[3])", [1, 2, 3]), ("insert before([1,3],1,2)", [2, 1, 3]),
    ("insert before([1,3],2,2)", [1, 2, 3]),
    ("remove([1,2,3], 2)", [1, 3]), ("remove([1,2,3], -1)", [1, 2]), ("remove([1,2,3], 5)", [1, 2, 3]),
    ("insert before([1,3], 5, 2)", [1, 3, 2]), ("reverse([1,2,3])", [3, 2, 1]), ("index of([1,2,3,2],2)", [2, 4]),
    ("union([1,2],[2,3])", [1, 2, 3]), ("distinct values([1,2,3,2,1])", [1, 2, 3]),
    ("distinct values([1, 1.0, {a: 1}, {a: 1}])", [1, {"a": 1}]),
    ("duplicate values([1,2,3,2,1])", [1, 2]), ('duplicate values(["a", "b", "a"])', ["a"]),
    ("flatten([[1,2],[[3]], 4])", [1, 2, 3, 4]),
    ("sort(list: [3,1,4,5,2], precedes: function(x,y) x < y)", [1, 2, 3, 4, 5]),
    ("sort([3,1,4,5,2], function(x,y) x > y)", [5, 4, 3, 2, 1]),
    ("is empty([])", True), ("is empty([1,2,3])", False),
    ("partition([1,2,3,4,5], 2)", [[1, 2], [3, 4], [5]]), ("partition([], 2)", []),
    ("count(1)", None),
]

CONTEXT = [
    ('get value({foo: 123}, "foo")', 123), ('get value({a: 1}, "b")', None),
    ('get value({x:1, y: {z:0}}, ["y", "z"])', 0), ('get value({x: {y: {z:0}}}, ["x", "y"])', {"z": 0}),
    ('get value({a: {b: 3}}, ["b"])', None),
    ("get entries({foo: 123})", [{"key": "foo", "value": 123}]),
    ('context put({x:1}, "y", 2)', {"x": 1, "y": 2}), ('context put({x:1}, ["y"], 2)', {"x": 1, "y": 2}),
    ('context put({x:1, y: {z:0}}, ["y", "z"], 2)', {"x": 1, "y": {"z": 2}}),
    ('context put({x:1}, ["y", "z"], 2)', {"x": 1, "y": {"z": 2}}),
    ("context merge([{x:1}, {y:2}])", {"x": 1, "y": 2}),
    ("context merge([{x:1, y: 0}, {y:2}])", {"x": 1, "y": 2}),
    ('context([{"key":"a", "value":1}, {"key":"b", "value":2}])', {"a": 1, "b": 2}),
    ('context([{"key":"a"}])', None),
]

CONVERSION = [
    ("string(1.1)", "1.1"), ('string(date("2012-12-25"))', "2012-12-25"), ("string(null)", None),
    ('number("1500.5")', 1500.5), ('number("1,500", ",")', 1500), ('number("1 500.5", " ", ".")', 1500.5),
    ('number("1.500,5", ".", ",")', 1500.5), ('number("abc")', None),
    ('date("2018-04-29")', D("2018-04-29")), ('date(date and time("2012-12-25T11:00:00"))', D("2012-12-25")),
    ("date(2012, 12, 25)", D("2012-12-25")), ('date("2024-06-31")', None), ("date(2024, 6, 31)", None),
    ('time("12:00:00")', TM("12:00:00")), ('time(date and time("2012-12-25T11:00:00"))', TM("11:00:00")),
    ("time(23, 59, 0)", TM("23:59:00")), ('time(14, 30, 0, duration("PT1H"))', TM("14:30:00+01:00")),
    ('date and time("2018-04-29T09:30:00")', DT("2018-04-29T09:30:00")),
    ('date and time("2018-04-29T09:30:00+02:00")', DT("2018-04-29T09:30:00+02:00")),
    ('date and time("2018-04-29T09:30:00@Europe/Berlin")', DT("2018-04-29T09:30:00@Europe/Berlin")),
    ('date and time("2018-04-29T09:30:00+02:00[Europe/Berlin]")', DT("2018-04-29T09:30:00@Europe/Berlin")),
    ('date and time("2024-06-31T10:00:00")', None),
    ('date and time(date("2012-12-24"),time("T23:59:00"))', DT("2012-12-24T23:59:00")),
    ('date and time(date and time("2012-12-25T11:00:00"),time("T23:59:00"))', DT("2012-12-25T23:59:00")),
    ('date and time(@"2020-07-31T14:27:30@Europe/Berlin", "America/Los_Angeles")',
     DT("2020-07-31T05:27:30@America/Los_Angeles")),
    ('date and time(@"2020-07-31T14:27:30", "Z")', DT("2020-07-31T14:27:30Z")),
    ('duration("P5D")', DUR("P5D")), ('duration("P32Y")', DUR("P32Y")), ('duration("P14M")', DUR("P1Y2M")),
    ('duration("PT36H")', DUR("P1DT12H")), ('duration("-PT5M")', DUR("-PT5M")), ('duration("x")', None),
    ('years and months duration(date("2011-12-22"), date("2013-08-24"))', DUR("P1Y8M")),
    ('years and months duration(date("2013-08-24"), date("2011-12-22"))', DUR("-P1Y8M")),
]

TEMPORAL_FUNCTIONS = [
    ('day of week(date("2019-09-17"))', "Tuesday"), ('day of week(date and time("2019-09-17T12:00:00"))', "Tuesday"),
    ('day of year(date("2019-09-17"))', 260), ('day of year(date and time("2019-09-17T12:00:00"))', 260),
    ('week of year(date("2019-09-17"))', 38), ('week of year(date and time("2019-09-17T12:00:00"))', 38),
    ('month of year(date("2019-09-17"))', "September"),
    ('month of year(date and time("2019-09-17T12:00:00"))', "September"),
    ('abs(duration("-PT5H"))', DUR("PT5H")), ('abs(duration("PT5H"))', DUR("PT5H")),
    ('abs(duration("-P2M"))', DUR("P2M")),
    ('last day of month(date("2022-10-01"))', D("2022-10-31")),
    ('last day of month(date and time("2022-10-16T12:00:00"))', D("2022-10-31")),
    ('last day of month(date("2024-02-10"))', D("2024-02-29")),
    ("today() = date(now())", True), ("now() instance of date and time", True),
]

RANGE = [
    ("before(1, 10)", True), ("before(10, 1)", False), ("before([1..5], 10)", True), ("before(1, [2..5])", True),
    ("before([1..5], [6..10])", True), ("before([1..5),[5..10])", True),
    ("after(10, 1)", True), ("after(1, 10)", False), ("after([1..5], 10)", False), ("after(12, [2..5])", True),
    ("after([6..10], [1..5])", True), ("after([5..10], [1..5))", True),
    ("meets([1..5], [5..10])", True), ("meets([1..3], [4..6])", False), ("meets([1..3], [3..5])", True),
    ("meets([1..5], (5..8])", False),
    ("met by([5..10], [1..5])", True), ("met by([3..4], [1..2])", False), ("met by([3..5], [1..3])", True),
    ("met by((5..8], [1..5))", False), ("met by([5..10], [1..5))", False),
    ("overlaps([5..10], [1..6])", True), ("overlaps((3..7], [1..4])", True), ("overlaps([1..3], (3..6])", False),
    ("overlaps((5..8], [1..5))", False), ("overlaps([4..10], [1..5))", True),
    ("overlaps before([1..5], [4..10])", True), ("overlaps before([3..4], [1..2])", False),
    ("overlaps before([1..3], (3..5])", False), ("overlaps before([1..5), (3..8])", True),
    ("overlaps before([1..5), [5..10])", False),
    ("overlaps after([4..10], [1..5])", True), ("overlaps after([3..4], [1..2])", False),
    ("overlaps after([3..5], [1..3))", False), ("overlaps after((5..8], [1..5))", False),
    ("overlaps after([4..10], [1..5))", True),
    ("finishes(5, [1..5])", True), ("finishes(10, [1..7])", False), ("finishes([3..5], [1..5])", True),
    ("finishes((1..5], [1..5))", False), ("finishes([5..10], [1..10))", False),
    ("finished by([5..10], 10)", True), ("finished by([3..4], 2)", False), ("finished by([1..5], [3..5])", True),
    ("finished by((5..8], [1..5))", False), ("finished by([5..10], (1..10))", False),
    ("includes([5..10], 6)", True), ("includes([3..4], 5)", False), ("includes([1..10], [4..6])", True),
    ("includes((5..8], [1..5))", False), ("includes([1..10], [1..5))", True),
    ("during(5, [1..10])", True), ("during(12, [1..10])", False), ("during(1, (1..10])", False),
    ("during([4..6], [1..10))", True), ("during((1..5], (1..10])", True),
    ("starts(1, [1..5])", True), ("starts(1, (1..8])", False), ("starts((1..5], [1..5])", False),
    ("starts([1..10], [1..5])", False), ("starts((1..5), (1..10))", True),
    ("started by([1..10], 1)", True), ("started by((1..10], 1)", False), ("started by([1..10], [1..5])", True),
    ("started by((1..10], [1..5))", False), ("started by([1..10], [1..10))", True),
    ("coincides(5, 5)", True), ("coincides(3, 4)", False), ("coincides([1..5], [1..5])", True),
    ("coincides((1..5], [1..5))", False), ("coincides([1..5], [2..6])", False),
]

TEMPORAL_EXPRESSIONS = [
    ('@"2020-04-06"', D("2020-04-06")), ('@"08:00:00"', TM("08:00:00")), ('@"08:00:00+02:00"', TM("08:00:00+02:00")),
    ('@"08:00:00@Europe/Berlin" = @"08:00:00+01:00" or @"08:00:00@Europe/Berlin" = @"08:00:00+02:00"', True),
    ('@"2020-04-06T08:00:00"', DT("2020-04-06T08:00:00")), ('@"2020-04-06T08:00:00+02:00"', DT("2020-04-06T08:00:00+02:00")),
    ('@"2020-04-06T08:00:00@Europe/Berlin"', DT("2020-04-06T08:00:00@Europe/Berlin")),
    ('@"P5D"', DUR("P5D")), ('@"PT6H"', DUR("PT6H")), ('@"P1Y6M"', DUR("P1Y6M")), ('@"P3M"', DUR("P3M")),
    ('@"2024-06-31"', None),
    ('date("2020-04-06") + duration("P1D")', D("2020-04-07")), ('time("08:00:00") + duration("PT1H")', TM("09:00:00")),
    ('date and time("2020-04-06T08:00:00") + duration("P7D")', DT("2020-04-13T08:00:00")),
    ('duration("P2D") + duration("P5D")', DUR("P7D")),
    ('date("2020-04-06") - date("2020-04-01")', DUR("P5D")), ('date("2020-04-06") - duration("P5D")', D("2020-04-01")),
    ('time("08:00:00") - time("06:00:00")', DUR("PT2H")), ('time("08:00:00") - duration("PT2H")', TM("06:00:00")),
    ('duration("P7D") - duration("P2D")', DUR("P5D")), ('duration("P1Y") - duration("P3M")', DUR("P9M")),
    ('duration("P1D") * 5', DUR("P5D")), ('duration("P1M") * 6', DUR("P6M")),
    ('duration("P5D") / duration("P1D")', 5), ('duration("P5D") / 5', DUR("P1D")),
    ('duration("P1Y") / duration("P1M")', 12), ('duration("P1Y") / 12', DUR("P1M")),
    ('date("2020-04-06").year', 2020), ('date("2020-04-06").month', 4), ('date("2020-04-06").weekday', 1),
    ('time("08:00:00").hour', 8), ('date and time("2020-04-06T08:00:00+02:00").time offset', DUR("PT2H")),
    ('date and time("2020-04-06T08:00:00@Europe/Berlin").timezone', "Europe/Berlin"),
    ('duration("PT2H30M").hours', 2), ('duration("PT2H30M").minutes', 30), ('duration("P6M").months', 6),
    ('date("2021-01-31") + duration("P1M")', D("2021-02-28")), ('date("2020-01-31") + duration("P1M")', D("2020-02-29")),
    ('date and time("2021-01-31T10:00:00") + duration("P1M")', DT("2021-02-28T10:00:00")),
    ('date("2021-03-31") - duration("P1M")', D("2021-02-28")),
    ('date and time("2020-01-01T10:00:00+01:00") = date and time("2020-01-01T09:00:00Z")', True),
    ('date and time("2020-01-01T10:00:00") = date("2020-01-01")', None),
    ('date and time("2020-01-01T10:00:00") < date("2020-01-02")', None),
    ('date and time("2020-01-01T10:00:00") < date and time("2020-01-01T10:00:00Z")', None),
    ('date("2020-01-01") < date("2020-01-02")', True),
    ('duration("P1D") > duration("PT23H")', True), ('duration("P1Y") > duration("P11M")', True),
    ('duration("P1Y") = duration("P12M")', True), ('duration("P1D") = duration("P1M")', None),
    ('date and time("2021-03-27T12:00:00@Europe/Berlin") + duration("PT24H")', DT("2021-03-28T13:00:00@Europe/Berlin")),
    ('date and time("2021-03-27T12:00:00@Europe/Berlin") + duration("P1D")', DT("2021-03-28T13:00:00@Europe/Berlin")),
    ('date and time("2021-03-28T12:00:00+02:00") - date and time("2021-03-27T12:00:00+01:00")', DUR("PT23H")),
    ('time("23:00:00") + duration("PT2H")', TM("01:00:00")),
    ('date("2020-04-06") + 1', None), ('date("2020-04-06") + time("10:00:00")', None),
    ('string(duration("P32Y"))', "P32Y"), ('date and time("2012-12-24")', DT("2012-12-24T00:00:00")),
    ('time("23:59:00z") + duration("PT2M") = time("00:01:00@Etc/UTC")', True), ('string(duration("P1DT2H"))', "P1DT2H"),
    ('date("2019-09-17") in [date("2019-09-01")..date("2019-09-30")]', True),
    ('day of week(today()) in ("Saturday","Sunday") or true', True),
    ('(@"2021-01-01T00:00:01Z" - @"1970-01-01T00:00Z") / @"PT1S" * 1000', 1609459201000),
    ('for d in dates return {date: date(date and time(d)), day: string(date.day), '
     'month: substring(month of year(date), 1, 3), year: string(date.year), '
     'formatted: day + "-" + month + "-" + year}.formatted', ["21-Apr-2021", "22-Apr-2021"]),
]

LANGUAGE = [
    ("for i in 1..3 return i * 2", [2, 4, 6]), ("for i in 3..1 return i", [3, 2, 1]),
    ("for x in [1,2], y in [10, 20] return x + y", [11, 21, 12, 22]),
    ("for i in 1..5 return if i = 1 then 1 else i * partial[-1]", [1, 2, 6, 24, 120]),
    ("some x in [1,2,3] satisfies x > 2", True), ("every x in [1,2,3] satisfies x > 2", False),
    ("every x in [] satisfies x > 2", True), ("some x in [1, 2], y in [2, 3] satisfies x * y = 6", True),
    ("if 5 > 3 then \"yes\" else \"no\"", "yes"), ("if null then 1 else 2", 2), ('if "x" then 1 else 2', 2),
    ("5 between 1 and 10", True), ("11 between 1 and 10", False), ('"b" between "a" and "c"', True),
    ("5 in (1, 5, 7)", True), ("5 in [1..5]", True), ("5 in [1..5)", False), ("5 in (5..10]", False),
    ("5 in ]5..10]", False), ("5 in (> 3)", True), ("5 in (< 3, > 4)", True), ('"a" in ["a", "b"]', True),
    ("1 instance of number", True), ('"a" instance of string', True), ("null instance of Null", True),
    ("[1] instance of list", True), ("{} instance of context", True), ('@"P1D" instance of days and time duration', True),
    ('@"P1Y" instance of years and months duration', True), ('@"2020-01-01" instance of date', True),
    ("1 instance of string", False), ("1 instance of Any", True), ("null instance of Any", False),
    ("(function(a, b) a + b)(1, 2)", 3), ("{f: function(x) x * 2, r: f(21)}.r", 42),
    ("{sq: function(x) x * x}.sq(4)", 16), ("{add: function(a, b) a + b}.add(b: 2, a: 5)", 7),
    ("[1,2,3,4][item > 2]", [3, 4]), ("[1,2,3][1]", 1), ("[1,2,3][-1]", 3), ("[1,2,3][4]", None),
    ("[{a: 1}, {a: 2}][a > 1]", [{"a": 2}]), ("[{a: 1}, {a: 2}].a", [1, 2]),
    ("[{a: 1, b: 2}, {a: 3, b: 4}][item.a > 1].b", [4]), ("[][1]", None), ("[][item > 1]", []),
    ('{"first name": "Bo", x: 1}', {"first name": "Bo", "x": 1}),
    ("{first name: 1}", {"first name": 1}),
    ('substring(string: "foobar", start position: 3)', "obar"),
    ("sublist(list: [1,2,3], start position: 2)", [2, 3]), ("sublist(list: [1,2,3], start: 2, length: 1)", [2]),
    ('get value(m: {a: 1}, key: "a")', 1), ('get value(context: {a: {b: 2}}, keys: ["a", "b"])', 2),
    ("context merge({a: 1}, {b: 2})", {"a": 1, "b": 2}), ('replace(input: "ab", pattern: "b", replacement: "c")', "ac"),
    ("decimal(n: 1.25, scale: 1)", 1.2), ("abs(number: -3)", 3),
    ("[1, 2] = [1, 2]", True), ("{a: 1} = {a: 1}", True), ("{a: 1} = {a: 2}", False), ("1 = 1.0", True),
    ('1 = "1"', None), ("null = null", True), ("1 = null", False), ("1 != null", True), ('"a" < "b"', True),
    ("true and null", None), ("false and null", False), ("true or null", True), ("null or false", None),
    ('1 + "a"', None), ('"a" + "b"', "ab"), ("x + 1", None), ("-x", None), ("not(x)", None),
    ("x.y.z", None), ('{a: 1}.b', None),
    ("[1..3]", None) if False else ("count(for i in 1..1000 return i)", 1000),
    ("true = null", False),
    ("some x in [1, 2] satisfies null", None), ("every x in [1, 2] satisfies null", None),
    ("for i in 5 return i", None), ("some x in x satisfies x > 1", None), ("x[even(item)]", None),
    ("5 in ? < 10", True), ("[{item: 1}, {item: 2}][item > 1]", [{"item": 2}]),
]


@pytest.mark.parametrize("expression, expected", BOOLEAN + STRING + NUMERIC)
def test_boolean_string_numeric(expression: str, expected: Any) -> None:
    check(expression, expected)


@pytest.mark.parametrize("expression, expected", LIST + CONTEXT)
def test_list_and_context(expression: str, expected: Any) -> None:
    check(expression, expected)


@pytest.mark.parametrize("expression, expected", CONVERSION + TEMPORAL_FUNCTIONS)
def test_conversion_and_temporal_functions(expression: str, expected: Any) -> None:
    check(expression, expected)


@pytest.mark.parametrize("expression, expected", RANGE)
def test_range_functions(expression: str, expected: Any) -> None:
    check(expression, expected)


@pytest.mark.parametrize("expression, expected", TEMPORAL_EXPRESSIONS)
def test_temporal_expressions(expression: str, expected: Any) -> None:
    check(expression, expected, {"dates": ["2021-04-21T07:25:06.000Z", "2021-04-22T07:25:06.000Z"]})


@pytest.mark.parametrize("expression, expected", LANGUAGE)
def test_language(expression: str, expected: Any) -> None:
    check(expression, expected)


def test_assert_fails_the_evaluation_with_its_cause() -> None:
    from zeebe_affinity_sync.engine.feel import FeelEvaluationError

    assert evaluate("assert(x, x >= 0)", {"x": 4}) == 4
    with pytest.raises(FeelEvaluationError, match="'x' should be positive"):
        evaluate("assert(x, x >= 0, \"'x' should be positive\")", {"x": -1})
    with pytest.raises(FeelEvaluationError, match="not fulfilled"):
        evaluate("assert(x, x != null)", {})


@pytest.mark.parametrize("expression, stored", [
    ('@"2018-04-29T09:30:00@Europe/Berlin"', "2018-04-29T09:30:00+02:00"),   # Zeebe keeps the offset only
    ('@"2018-04-29T09:30:00Z"', "2018-04-29T09:30:00Z"),
    ('@"2018-04-29T09:30:00.120"', "2018-04-29T09:30:00.12"),
    ('@"2018-04-29"', "2018-04-29"), ('@"10:00:00+01:00"', "10:00:00+01:00"),
    ('{d: @"P1Y2M", t: [@"PT90M"], n: 1.50}', {"d": "P1Y2M", "t": ["PT1H30M"], "n": 1.5}),
])
def test_results_are_stored_as_zeebe_writes_them(expression: str, stored: Any) -> None:
    from zeebe_affinity_sync.engine.feel import to_json

    assert to_json(evaluate(expression, {})) == stored


def test_now_reads_the_clock_the_thread_installed() -> None:
    import datetime

    from zeebe_affinity_sync.engine.feel import temporal

    fixed = datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    previous = temporal.use_clock(lambda: fixed)
    try:
        assert to_string(evaluate("now()", {})) == "2030-05-06T07:08:09Z"
        assert to_string(evaluate("today()", {})) == "2030-05-06"
    finally:
        temporal.use_clock(previous)
    assert evaluate("now()", {}).year != 2030
