"""A signed report as a printable PDF (A4), in Chinese, under the issuing institution's name.

Pure: a `PrintedReport` in, PDF bytes out. The text is set in reportlab's built-in CID font
STSong-Light, which every PDF reader supplies for Chinese (Adobe-GB1), so no font file is shipped
or embedded and the text stays extractable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, HRFlowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from server.cases.models import CaseKind
from server.core.clock import CHINA_TIME

FONT = "STSong-Light"


@cache
def _register_font() -> None:
    """reportlab keeps fonts in a process-wide registry: add ours on first use, not at import."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))


TITLES = {
    CaseKind.IMAGING: "影像诊断报告",
    CaseKind.ECG: "心电诊断报告",
    CaseKind.PATHOLOGY: "病理诊断报告",
    CaseKind.CONSULT: "会诊意见",
    CaseKind.MDT: "会诊意见",
    CaseKind.REFERRAL: "会诊意见",
}
SEX = {"M": "男", "F": "女", "O": "其他"}
SIGNATURE_NOTE = "电子签名：本报告由签发医师在平台上以电子签名签发，签发人、签发时间与内容以平台记录为准。"


@dataclass(frozen=True)
class Section:
    label: str
    text: str


@dataclass(frozen=True)
class PrintedReport:
    """What a printed report shows; times are aware datetimes, printed in China Standard Time."""

    issuing_institution: str
    kind: CaseKind
    case_id: int
    patient_name: str
    patient_sex: str | None
    patient_birth_date: date | None
    patient_id_masked: str
    requesting_institution: str
    clinical_question: str
    sections: tuple[Section, ...]
    signer: str
    signed_at: datetime
    version: int
    amendment_reason: str | None = None

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def patient_age(self) -> int | None:
        """Whole years on the day of signing (in China Standard Time)."""
        if self.patient_birth_date is None:
            return None
        signed_on = self.signed_at.astimezone(CHINA_TIME).date()
        born = self.patient_birth_date
        return signed_on.year - born.year - ((signed_on.month, signed_on.day) < (born.month, born.day))


def china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") + "（北京时间）"


def _style(name: str, size: float, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=size * 1.5, wordWrap="CJK", **extra)


HEADER = _style("header", 18, alignment=TA_CENTER)
TITLE = _style("title", 15, alignment=TA_CENTER, spaceBefore=2 * mm, spaceAfter=4 * mm)
LABEL = _style("label", 11, spaceBefore=3 * mm, textColor=colors.HexColor("#333333"))
BODY = _style("body", 10.5)
SMALL = _style("small", 9, textColor=colors.HexColor("#555555"))


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    """Plain text as a paragraph: markup characters escaped, line breaks kept."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _patient_table(report: PrintedReport) -> Table:
    age = report.patient_age
    cells = [
        ["姓名", report.patient_name, "性别", SEX.get(report.patient_sex or "", "—"), "年龄",
         "—" if age is None else f"{age} 岁"],
        ["证件号", report.patient_id_masked or "—", "申请机构", report.requesting_institution, "病例号",
         str(report.case_id)],
    ]  # fmt: skip
    table = Table(
        [[_para(cell, BODY) for cell in row] for row in cells],
        colWidths=[16 * mm, 40 * mm, 20 * mm, 50 * mm, 16 * mm, 28 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#333333")),
            ]
        )
    )
    return table


def _signature(report: PrintedReport) -> list[Flowable]:
    version = f"第 {report.version} 版"
    if report.amendment_reason:
        version += f"（更正版本，更正原因：{report.amendment_reason}）"
    return [
        HRFlowable(width="100%", thickness=0.8, color=colors.black, spaceBefore=6 * mm, spaceAfter=2 * mm),
        _para(f"签发医师：{report.signer}", BODY),
        _para(f"签发机构：{report.issuing_institution}", BODY),
        _para(f"签发时间：{china_time(report.signed_at)}", BODY),
        _para(f"报告版本：{version}", BODY),
        Spacer(1, 2 * mm),
        _para(SIGNATURE_NOTE, SMALL),
    ]


def _numbered_canvas(footer: str) -> type[Canvas]:
    """A canvas that writes "第 n 页 / 共 N 页" on every page once it knows how many there are."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held_pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset, absent from its stubs

        def save(self) -> None:
            total = len(self._held_pages)
            for page in self._held_pages:
                self.__dict__.update(page)
                self.setFont(FONT, 8.5)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(20 * mm, 12 * mm, footer)
                self.drawRightString(
                    A4[0] - 20 * mm, 12 * mm, f"第 {self.getPageNumber()} 页 / 共 {total} 页"
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def render(report: PrintedReport) -> bytes:
    _register_font()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
        title=f"{report.issuing_institution} {report.title}",
        author=report.issuing_institution,
        subject=f"病例 {report.case_id} 第 {report.version} 版",
    )
    story: list[Flowable] = [
        _para(report.issuing_institution, HEADER),
        _para(report.title, TITLE),
        _patient_table(report),
        _para("临床问题", LABEL),
        _para(report.clinical_question or "—", BODY),
    ]
    for section in report.sections:
        story += [_para(section.label, LABEL), _para(section.text, BODY)]
    story += _signature(report)
    footer = f"{report.issuing_institution}　{report.title}　病例号 {report.case_id}　第 {report.version} 版"
    document.build(story, canvasmaker=_numbered_canvas(footer))
    return out.getvalue()
