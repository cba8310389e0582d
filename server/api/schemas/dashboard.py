"""Contracts of the community administrator's dashboard (`server/api/dashboard.py`)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from server.api.schemas.common import Contract
from server.api.schemas.directory import NamedRef
from server.core.clock import CHINA_TIME
from server.dashboard.indicators import Dashboard as Board
from server.dashboard.indicators import Indicator as Figure
from server.dashboard.indicators import Text


class Bilingual(Contract):
    """A text in both languages, keyed by locale."""

    model_config = ConfigDict(serialize_by_alias=True)

    zh_CN: str = Field(serialization_alias="zh-CN", validation_alias="zh-CN")
    en: str

    @classmethod
    def of(cls, text: Text) -> Bilingual:
        return cls.model_validate({"zh-CN": text.zh, "en": text.en})


class ChartPoint(Contract):
    """One bar of a chart; `count` is how many records stand behind a rate or a percentile."""

    key: str
    label: str
    value: int | float | None
    count: int | None


class ChartSeries(Contract):
    key: str
    name: Bilingual
    points: list[ChartPoint]


class Indicator(Contract):
    key: str
    name: Bilingual
    definition: Bilingual
    unit: str  # count | percent | minutes | person_times | person_days
    value: int | float | None  # None: nothing to count this month (a rate without denominator)
    target: int | float | None  # a rate's aim, reached at or above it
    numerator: int | None
    denominator: int | None
    series: list[ChartSeries]

    @classmethod
    def of(cls, indicator: Figure) -> Indicator:
        return cls(
            key=indicator.key,
            name=Bilingual.of(indicator.name),
            definition=Bilingual.of(indicator.definition),
            unit=indicator.unit,
            value=indicator.value,
            target=indicator.target,
            numerator=indicator.numerator,
            denominator=indicator.denominator,
            series=[
                ChartSeries(
                    key=s.key,
                    name=Bilingual.of(s.name),
                    points=[ChartPoint.model_validate(point) for point in s.points],
                )
                for s in indicator.series
            ],
        )


class Dashboard(Contract):
    month: str
    timezone: str  # the books' time zone, in which months are cut
    community: NamedRef
    indicators: list[Indicator]

    @classmethod
    def of(cls, board: Board) -> Dashboard:
        return cls(
            month=board.month,
            timezone=str(CHINA_TIME),
            community=NamedRef.model_validate(board.community),
            indicators=[Indicator.of(indicator) for indicator in board.indicators],
        )
