"""What a reader needs to know about a slide, and what must never travel with it.

The label image (and the macro photograph, which shows the label) often carries the patient's name,
and scanners write the operator, file name and dates into description fields. So the default view
lists only the harmless associated images (thumbnail), and a de-identified copy also drops the
vendor's description-type properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaging.wsi.readers import AnySlide

IDENTIFYING_IMAGES = frozenset({"label", "macro"})
# Property names (lower case) whose values are free text or identify a person, a file or a time.
IDENTIFYING_PROPERTY_PARTS = (
    "description",
    "comment",
    "label",
    "macro",
    "barcode",
    "filename",
    "user",
    "date",
    "time",
    "operator",
)


@dataclass(frozen=True)
class SlideMetadata:
    vendor: str
    levels: tuple[tuple[int, int], ...]  # (width, height) per level, base level first
    downsamples: tuple[float, ...]
    mpp: tuple[float, float] | None  # microns per pixel (x, y) at the base level
    objective_power: float | None
    associated_images: tuple[str, ...]  # every associated image the file holds, identifying ones included
    properties: dict[str, str]

    @property
    def dimensions(self) -> tuple[int, int]:
        return self.levels[0]

    def viewable_images(self) -> list[str]:
        """Associated images safe for default views and teaching: never the label or macro."""
        return [name for name in self.associated_images if name not in IDENTIFYING_IMAGES]

    def to_json(self, *, deidentified: bool = False) -> dict[str, Any]:
        """The default (clinical) view; `deidentified` also drops identifying vendor properties."""
        properties = {
            key: value
            for key, value in self.properties.items()
            if not key.lower().startswith(tuple(f"openslide.associated.{n}" for n in IDENTIFYING_IMAGES))
            and not (deidentified and any(part in key.lower() for part in IDENTIFYING_PROPERTY_PARTS))
        }
        return {
            "vendor": self.vendor,
            "width": self.dimensions[0],
            "height": self.dimensions[1],
            "levels": [
                {"width": w, "height": h, "downsample": d}
                for (w, h), d in zip(self.levels, self.downsamples, strict=True)
            ],
            "mpp_x": self.mpp[0] if self.mpp else None,
            "mpp_y": self.mpp[1] if self.mpp else None,
            "objective_power": self.objective_power,
            "associated_images": self.viewable_images(),
            "label_withheld": bool(IDENTIFYING_IMAGES & set(self.associated_images)),
            "properties": properties,
        }


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def read_metadata(slide: AnySlide) -> SlideMetadata:
    props = slide.properties
    mpp_x, mpp_y = _float(props.get("openslide.mpp-x")), _float(props.get("openslide.mpp-y"))
    return SlideMetadata(
        vendor=props.get("openslide.vendor", "unknown"),
        levels=tuple(slide.level_dimensions),
        downsamples=tuple(round(d, 4) for d in slide.level_downsamples),
        mpp=(mpp_x, mpp_y) if mpp_x and mpp_y else None,
        objective_power=_float(props.get("openslide.objective-power")),
        associated_images=tuple(slide.associated_images),
        properties={key: str(value) for key, value in props.items()},
    )
