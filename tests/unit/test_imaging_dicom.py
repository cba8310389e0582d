"""imaging.dicom against real files, checked with references computed here, not by the renderer.

References: raw pixel bytes read with numpy; the VOI formula of PS3.3 C.11.2.1.2 written out in plain
Python; lossless variants against their uncompressed original; JPEG and JPEG 2000 fragments decoded by
Pillow's own codecs; palette lookups done by hand. pydicom's test files are used offline only.
"""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread, dcmwrite
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imaging.dicom import (
    PRESETS,
    InvalidDicom,
    ParsedInstance,
    RenderError,
    display_name,
    encode_jpeg,
    encode_png,
    frame_count,
    parse_instance,
    render_frame,
)
from tests.support.dicom_factory import (
    CHARSETS,
    PHANTOM_HU,
    US_BLOB_RGB,
    ct_series,
    mr_instance,
    multiframe_us,
    phantom_points,
    pixel_data_offset,
    truncated,
    us_blob_center,
    without_preamble,
)

# Broken input is fed on purpose; pydicom's warnings about it are expected.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom.*")

# ---------------------------------------------------------------------------------------------------
# Independent references


def bundled(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert path, f"{name} is not bundled with pydicom"
    with open(path, "rb") as file:
        return file.read()


def charset_file(name: str) -> bytes:
    (path,) = get_charset_files(name)
    with open(path, "rb") as file:
        return file.read()


def linear_window(x: float, center: float, width: float) -> int:
    """PS3.3 C.11.2.1.2.1 as the standard writes it, onto 0..255."""
    if x <= center - 0.5 - (width - 1) / 2:
        return 0
    if x > center - 0.5 + (width - 1) / 2:
        return 255
    return round(((x - (center - 0.5)) / (width - 1) + 0.5) * 255)


def expected_image(values: np.ndarray, to_8_bits: Callable[[float], int]) -> np.ndarray:
    return np.array([to_8_bits(float(v)) for v in values.ravel()], np.uint8).reshape(values.shape)


def stretched(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return expected_image(values, lambda v: round((v - low) * 255 / (high - low)))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int64)


def raw_native(data: bytes, dtype: str) -> np.ndarray:
    ds = dcmread(io.BytesIO(data))
    return np.frombuffer(ds.PixelData, dtype)[: ds.Rows * ds.Columns].reshape(ds.Rows, ds.Columns)


def pillow_frames(data: bytes) -> list[np.ndarray]:
    """Each frame's codestream decoded by Pillow (libjpeg-turbo / OpenJPEG), not by pydicom's plugins."""
    ds = dcmread(io.BytesIO(data))
    frames = generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames") or 1))
    return [pixels(Image.open(io.BytesIO(frame)).convert("RGB")) for frame in frames]


def rewritten(data: bytes, change: Callable[[Dataset], None]) -> bytes:
    ds = dcmread(io.BytesIO(data))
    change(ds)
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def patch_median(image: np.ndarray, point: tuple[int, int]) -> int:
    row, col = point
    return int(np.median(image[row - 2 : row + 3, col - 2 : col + 3]))


@pytest.fixture(scope="module")
def ct() -> list[bytes]:
    return ct_series()


@pytest.fixture(scope="module")
def ct_parsed(ct: list[bytes]) -> list[ParsedInstance]:
    return [parse_instance(data) for data in ct]


# ---------------------------------------------------------------------------------------------------
# Generated CT series: identifiers and window presets


def test_a_generated_ct_series_of_100_slices_parses_consistently(ct_parsed: list[ParsedInstance]) -> None:
    assert len(ct_parsed) == 100
    assert len({p.study_uid for p in ct_parsed}) == 1
    assert len({p.series_uid for p in ct_parsed}) == 1
    assert len({p.sop_uid for p in ct_parsed}) == 100
    assert [p.instance_number for p in ct_parsed] == list(range(1, 101))
    z = [p.image_position[2] for p in ct_parsed if p.image_position]
    assert len(z) == 100 and all(a < b for a, b in itertools.pairwise(z))
    assert z == [p.slice_location for p in ct_parsed]
    first = ct_parsed[0]
    assert (first.modality, first.rows, first.columns, first.number_of_frames) == ("CT", 512, 512, 1)
    assert (first.patient_name, first.patient_name_raw, first.patient_id) == ("张三", "张^三", "P000000")
    assert (first.study_date, first.study_time, first.body_part) == ("20250115", "093000", "CHEST")
    assert (first.study_description, first.series_description) == ("胸部CT平扫", "胸部 5mm 软组织")
    assert (first.rescale_slope, first.rescale_intercept) == (1.0, -1024.0)
    assert (first.window_center, first.window_width, first.pixel_spacing) == (40.0, 400.0, (0.7, 0.7))
    assert (first.bits_allocated, first.bits_stored, first.pixel_representation) == (16, 12, 0)
    assert first.transfer_syntax_uid == ExplicitVRLittleEndian
    assert first.specific_character_set == ("ISO_IR 192",)


def test_the_same_seed_gives_the_same_uids_and_another_seed_others() -> None:
    def uids(seed: int) -> list[tuple[str, str, str]]:
        return [
            (p.study_uid, p.series_uid, p.sop_uid) for p in map(parse_instance, ct_series(3, 8, 8, seed=seed))
        ]

    assert uids(5) == uids(5)
    assert not {u for triple in uids(5) for u in triple} & {u for triple in uids(6) for u in triple}


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_ct_preset_renders_each_phantom_tissue_as_the_formula_says(
    ct_parsed: list[ParsedInstance], preset: str
) -> None:
    center, width = PRESETS[preset]
    image = pixels(render_frame(ct_parsed[50], preset=preset))
    for tissue, point in phantom_points(512, 512).items():
        expected = linear_window(PHANTOM_HU[tissue], center, width)
        assert abs(patch_median(image, point) - expected) <= 1, (tissue, expected)


def test_bone_and_lung_presets_separate_the_tissues(ct_parsed: list[ParsedInstance]) -> None:
    points = phantom_points(512, 512)
    bone = pixels(render_frame(ct_parsed[50], preset="bone"))
    shade = {tissue: patch_median(bone, point) for tissue, point in points.items()}
    assert shade["bone"] >= 210 and shade["soft_tissue"] < 80 and shade["lung"] == shade["air"] == 0
    lung = pixels(render_frame(ct_parsed[50], preset="lung"))
    shade = {tissue: patch_median(lung, point) for tissue, point in points.items()}
    # The standard lung window (-600/1500) starts at -1350 HU: air is dark grey (60), not black.
    assert 50 <= shade["air"] < shade["lung"] < shade["soft_tissue"] < shade["bone"] == 255
    assert 80 <= shade["lung"] <= 110


def test_signed_storage_without_rescale_renders_like_unsigned_with_intercept() -> None:
    unsigned = parse_instance(ct_series(1, 64, 64, seed=3)[0])
    signed_data = ct_series(1, 64, 64, seed=3, signed=True)[0]
    signed = parse_instance(signed_data)
    assert (signed.pixel_representation, signed.rescale_intercept) == (1, 0.0)
    assert raw_native(signed_data, "<i2").min() < -990  # air stored as negative values
    for preset in PRESETS:
        assert np.array_equal(
            pixels(render_frame(signed, preset=preset)), pixels(render_frame(unsigned, preset=preset))
        )


def test_window_precedence_explicit_then_preset_then_file_then_min_max() -> None:
    data = ct_series(1, 64, 64, seed=4)[0]
    parsed = parse_instance(data)
    explicit = pixels(render_frame(parsed, window=(0, 100), preset="lung"))
    assert np.array_equal(explicit, pixels(render_frame(parsed, window=(0, 100))))
    assert np.array_equal(
        pixels(render_frame(parsed, preset="lung")), pixels(render_frame(parsed, window=PRESETS["lung"]))
    )
    assert np.array_equal(pixels(render_frame(parsed)), pixels(render_frame(parsed, window=(40, 400))))

    def no_window(ds: Dataset) -> None:
        del ds.WindowCenter, ds.WindowWidth

    hu = raw_native(data, "<u2").astype(float) - 1024
    assert np.array_equal(pixels(render_frame(rewritten(data, no_window))), stretched(hu))


# ---------------------------------------------------------------------------------------------------
# Grayscale files from pydicom, against references


def test_mr_small_renders_its_own_window_exactly_as_the_formula() -> None:
    data = bundled("MR_small.dcm")
    parsed = parse_instance(data)
    assert (parsed.window_center, parsed.window_width) == (600.0, 1600.0)
    expected = expected_image(raw_native(data, "<i2"), lambda v: linear_window(v, 600, 1600))
    assert np.array_equal(pixels(render_frame(parsed)), expected)


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_padded.dcm",
    ],
)
def test_lossless_variants_of_mr_small_decode_and_render_identically(name: str) -> None:
    original = bundled("MR_small.dcm")
    variant = parse_instance(bundled(name))
    assert np.array_equal(variant.dataset.pixel_array, raw_native(original, "<i2"))
    assert np.array_equal(pixels(render_frame(variant)), pixels(render_frame(original)))
    assert np.array_equal(
        pixels(render_frame(variant, window=(300, 500))), pixels(render_frame(original, window=(300, 500)))
    )


def test_ct_small_rescales_to_hounsfield_units_before_the_window() -> None:
    data = bundled("CT_small.dcm")
    hu = raw_native(data, "<i2").astype(float) - 1024  # Rescale Slope 1, Intercept -1024
    parsed = parse_instance(data)
    brain = expected_image(hu, lambda v: linear_window(v, 40, 80))
    assert np.array_equal(pixels(render_frame(parsed, preset="brain")), brain)
    assert np.array_equal(pixels(render_frame(parsed)), stretched(hu))  # no window in the file


def test_monochrome1_is_the_inverse_of_monochrome2() -> None:
    def as_monochrome1(ds: Dataset) -> None:
        ds.PhotometricInterpretation = "MONOCHROME1"

    mr = bundled("MR_small.dcm")
    assert np.array_equal(pixels(render_frame(rewritten(mr, as_monochrome1))), 255 - pixels(render_frame(mr)))
    generated = pixels(render_frame(mr_instance(monochrome1=True)))
    assert np.array_equal(generated, 255 - pixels(render_frame(mr_instance())))


@pytest.mark.parametrize(
    ("function", "reference"),
    [
        ("LINEAR_EXACT", lambda v: round(min(max((v - 600) / 1600 + 0.5, 0.0), 1.0) * 255)),
        ("SIGMOID", lambda v: round(255 / (1 + math.exp(-4 * (v - 600) / 1600)))),
    ],
)
def test_the_files_voi_lut_function_is_honoured(function: str, reference: Callable[[float], int]) -> None:
    def set_function(ds: Dataset) -> None:
        ds.VOILUTFunction = function

    data = bundled("MR_small.dcm")
    expected = expected_image(raw_native(data, "<i2"), reference)
    assert np.abs(pixels(render_frame(rewritten(data, set_function))) - expected).max() <= 1


def test_enhanced_multiframe_takes_rescale_and_window_from_functional_groups() -> None:
    classic = ct_series(1, 32, 32, seed=8)[0]

    def to_functional_groups(ds: Dataset) -> None:
        rescale, wrong_window, window = Dataset(), Dataset(), Dataset()
        rescale.RescaleIntercept, rescale.RescaleSlope, rescale.RescaleType = -1024, 1, "HU"
        wrong_window.WindowCenter, wrong_window.WindowWidth = 500, 100
        window.WindowCenter, window.WindowWidth = 40, 400
        shared, per_frame = Dataset(), Dataset()
        shared.PixelValueTransformationSequence = [rescale]
        shared.FrameVOILUTSequence = [wrong_window]
        per_frame.FrameVOILUTSequence = [window]  # the frame's own value wins over the shared one
        ds.SharedFunctionalGroupsSequence = [shared]
        ds.PerFrameFunctionalGroupsSequence = [per_frame]
        del ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth

    enhanced = parse_instance(rewritten(classic, to_functional_groups))
    assert (enhanced.window_center, enhanced.rescale_intercept) == (40.0, -1024.0)
    assert np.array_equal(pixels(render_frame(enhanced)), pixels(render_frame(classic)))


def test_a_modality_lut_sequence_replaces_rescale() -> None:
    data = bundled("MR_small.dcm")

    def double_by_lut(ds: Dataset) -> None:
        item = Dataset()
        item.LUTDescriptor = [4096, 0, 16]
        item.add_new(0x00283006, "US", [2 * i for i in range(4096)])  # LUT Data
        ds.ModalityLUTSequence = [item]

    doubled = raw_native(data, "<i2").astype(float) * 2
    expected = expected_image(doubled, lambda v: linear_window(v, 2000, 4000))
    assert np.array_equal(pixels(render_frame(rewritten(data, double_by_lut), window=(2000, 4000))), expected)


def test_a_one_wide_window_is_a_threshold() -> None:
    data = bundled("MR_small.dcm")
    expected = np.where(raw_native(data, "<i2") > 599.5, 255, 0)
    assert np.array_equal(pixels(render_frame(data, window=(600, 1))), expected)


def test_float_pixel_data_is_stretched_to_its_range() -> None:
    values = (np.arange(64, dtype="<f4") / 7).reshape(8, 8)

    def to_float(ds: Dataset) -> None:
        del ds.PixelData, ds.PixelRepresentation, ds.BitsStored, ds.HighBit
        del ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth
        ds.BitsAllocated = 32
        ds.FloatPixelData = values.tobytes()

    parsed = parse_instance(rewritten(ct_series(1, 8, 8)[0], to_float))
    assert parsed.number_of_frames == 1
    assert np.array_equal(pixels(render_frame(parsed)), stretched(values.astype(float)))


@pytest.mark.parametrize(
    "name", ["JPEG2000.dcm", "JPGExtended.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm"]
)
def test_jpeg_2000_and_12_bit_jpeg_render_their_decoded_values_by_the_formula(name: str) -> None:
    parsed = parse_instance(bundled(name))
    ds = parsed.dataset
    values = ds.pixel_array * parsed.rescale_slope + parsed.rescale_intercept
    center, width = parsed.window_center, parsed.window_width
    if width:
        assert center is not None  # a file with a Window Width has its Window Center
        expected = expected_image(values, lambda v: linear_window(v, center, width))
    else:
        expected = stretched(values)
    assert np.array_equal(pixels(render_frame(parsed)), expected)


def test_jpeg_extended_12_bit_decodes_the_same_picture_as_its_jpeg_2000_sibling() -> None:
    extended = parse_instance(bundled("JPGExtended.dcm")).dataset.pixel_array.ravel()
    j2k = parse_instance(bundled("JPEG2000.dcm")).dataset.pixel_array.ravel()
    assert np.corrcoef(extended, j2k)[0, 1] > 0.95  # both are lossy encodings of NEMA's NM1


def test_one_bit_deflated_and_32_bit_multiframe_images() -> None:
    liver = parse_instance(bundled("liver_1frame.dcm"))
    assert np.array_equal(pixels(render_frame(liver)), liver.dataset.pixel_array.astype(np.int64) * 255)
    deflated = parse_instance(bundled("image_dfl.dcm"))
    assert np.array_equal(pixels(render_frame(deflated)), stretched(deflated.dataset.pixel_array))
    for name in ("rtdose.dcm", "rtdose_rle.dcm", "rtdose_expb.dcm"):
        dose = parse_instance(bundled(name))
        assert dose.number_of_frames == 15
        for frame in (0, 7, 14):
            expected = stretched(dose.dataset.pixel_array[frame].astype(float))
            assert np.array_equal(pixels(render_frame(dose, frame)), expected), (name, frame)


# ---------------------------------------------------------------------------------------------------
# Colour files from pydicom

SC_RGB_BARS = {  # row of SC_rgb*: colour of its horizontal bar
    5: (255, 0, 0),
    15: (255, 128, 128),
    25: (0, 255, 0),
    35: (128, 255, 128),
    45: (0, 0, 255),
    55: (128, 128, 255),
    65: (0, 0, 0),
    75: (64, 64, 64),
    85: (192, 192, 192),
    95: (255, 255, 255),
}


def sc_rgb_reference() -> np.ndarray:
    reference = pixels(render_frame(bundled("SC_rgb_rle.dcm")))
    assert all(tuple(reference[row, 50]) == colour for row, colour in SC_RGB_BARS.items())
    return reference


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_rle_16bit.dcm",
        "SC_rgb_rle_32bit.dcm",
        "SC_rgb_rle_2frame.dcm",
        "SC_rgb_rle_16bit_2frame.dcm",
        "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless
        "SC_rgb_gdcm_KY.dcm",  # JPEG 2000
    ],
)
def test_lossless_rgb_variants_match_the_rle_original(name: str) -> None:
    assert np.array_equal(pixels(render_frame(bundled(name))), sc_rgb_reference())


def test_the_second_frame_of_sc_rgb_2frame_is_the_inverse_picture() -> None:
    assert np.array_equal(pixels(render_frame(bundled("SC_rgb_rle_2frame.dcm"), 1)), 255 - sc_rgb_reference())


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_dcmtk_+eb+cr.dcm",
        "SC_rgb_dcmtk_+eb+cy+n1.dcm",
        "SC_rgb_dcmtk_+eb+cy+n2.dcm",
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
        "SC_rgb_dcmtk_+eb+cy+s2.dcm",
        "SC_rgb_dcmtk_+eb+cy+s4.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_jpeg_lossy_gdcm.dcm",
    ],
)
def test_jpeg_baseline_rgb_and_ybr_match_pillows_decoding_and_the_original(name: str) -> None:
    data = bundled(name)
    rendered = pixels(render_frame(data))
    (independent,) = pillow_frames(data)
    assert np.abs(rendered - independent).max() <= 3
    difference = np.abs(rendered - sc_rgb_reference())
    assert difference.mean() < 3  # lossy, and chroma subsampling blurs the bar edges
    assert all(np.abs(rendered[row, 50] - colour).max() <= 8 for row, colour in SC_RGB_BARS.items())


def test_uncompressed_ybr_full_422_is_converted_to_rgb() -> None:
    parsed = parse_instance(bundled("SC_ybr_full_422_uncompressed.dcm"))
    assert parsed.photometric_interpretation == "YBR_FULL_422"
    rendered = pixels(render_frame(parsed))
    assert np.abs(rendered - sc_rgb_reference()).mean() < 1
    assert all(np.abs(rendered[row, 50] - colour).max() <= 8 for row, colour in SC_RGB_BARS.items())


def test_ybr_full_422_jpeg_cine_frames_match_pillow() -> None:
    data = bundled("examples_ybr_color.dcm")
    parsed = parse_instance(data)
    independent = pillow_frames(data)
    assert parsed.number_of_frames == len(independent) == 30
    for frame in (0, 15, 29):
        assert np.abs(pixels(render_frame(parsed, frame)) - independent[frame]).max() <= 3
    assert not np.array_equal(pixels(render_frame(parsed, 0)), pixels(render_frame(parsed, 29)))


def test_jpeg_2000_lossless_ybr_rct_matches_openjpeg_via_pillow() -> None:
    data = bundled("examples_jpeg2k.dcm")
    (independent,) = pillow_frames(data)
    assert np.array_equal(pixels(render_frame(data)), independent)


def test_palette_colour_goes_through_its_lookup_tables() -> None:
    data = bundled("examples_palette.dcm")
    ds = dcmread(io.BytesIO(data))
    assert list(ds.RedPaletteColorLookupTableDescriptor) == [256, 0, 16]
    index = np.frombuffer(ds.PixelData, np.uint8).reshape(ds.Rows, ds.Columns)
    luts = [
        np.frombuffer(ds[f"{colour}PaletteColorLookupTableData"].value, "<u2") >> 8
        for colour in ("Red", "Green", "Blue")
    ]
    expected = np.stack([lut[index] for lut in luts], axis=-1)
    rendered = render_frame(data)
    assert rendered.mode == "RGB"
    assert np.array_equal(pixels(rendered), expected)


def test_big_endian_planar_rgb() -> None:
    ds = dcmread(io.BytesIO(bundled("ExplVR_BigEnd.dcm")))
    assert ds.PlanarConfiguration == 1  # all red samples, then all green, then all blue
    rendered = render_frame(ds)
    assert (rendered.mode, rendered.size) == ("RGB", (80, 60))
    planes = np.frombuffer(ds.PixelData, np.uint8).reshape(3, 60, 80)  # 8-bit: byte order is moot
    assert np.array_equal(pixels(rendered), planes.transpose(1, 2, 0))


def test_files_without_study_uids_still_render_from_a_dataset() -> None:
    """pydicom's JPEG-LS near-lossless samples lack identifiers: ingest refuses them, rendering works."""
    for name in ("JPEGLSNearLossless_08.dcm", "SC_rgb_jls_lossy_line.dcm"):
        with pytest.raises(InvalidDicom, match="missing StudyInstanceUID"):
            parse_instance(bundled(name))
    gray = dcmread(io.BytesIO(bundled("JPEGLSNearLossless_16.dcm")))
    assert np.array_equal(pixels(render_frame(gray)), stretched(gray.pixel_array.astype(float)))
    rgb = pixels(render_frame(dcmread(io.BytesIO(bundled("SC_rgb_jls_lossy_sample.dcm")))))
    assert np.abs(rgb - sc_rgb_reference()).max() <= 3  # JPEG-LS near-lossless bounds the error


@pytest.mark.parametrize("name", ["JPEG-lossy.dcm", "JPEG2000-embedded-sequence-delimiter.dcm"])
def test_corrupt_codestreams_parse_but_fail_to_render_with_a_reason(name: str) -> None:
    parsed = parse_instance(bundled(name))
    with pytest.raises(RenderError, match=r"cannot decode frame 0 \(JPEG"):
        render_frame(parsed)


# ---------------------------------------------------------------------------------------------------
# Generated ultrasound cine


def test_ultrasound_cine_in_rgb_ybr_and_rle_shows_the_moving_blob() -> None:
    frames, rows, cols = 10, 120, 160
    variants = [
        multiframe_us(frames),
        multiframe_us(frames, rgb=False),
        multiframe_us(frames, rle=True),
        multiframe_us(frames, rgb=False, rle=True),
    ]
    parsed = [parse_instance(data) for data in variants]
    assert [p.photometric_interpretation for p in parsed] == ["RGB", "YBR_FULL", "RGB", "YBR_FULL"]
    assert {p.number_of_frames for p in parsed} == {frames}
    for frame in (0, 4, 9):
        reference = pixels(render_frame(parsed[0], frame))
        for other in parsed[1:]:
            assert np.abs(pixels(render_frame(other, frame)) - reference).max() <= 1
        assert tuple(reference[us_blob_center(frame, frames, rows, cols)]) == US_BLOB_RGB
    first_frame = pixels(render_frame(parsed[0], 0))
    assert tuple(first_frame[us_blob_center(9, frames, rows, cols)]) != US_BLOB_RGB


# ---------------------------------------------------------------------------------------------------
# Sizes, encoders, frame counts, errors


def test_size_fits_within_a_square_keeping_aspect_and_never_enlarges(ct_parsed: list[ParsedInstance]) -> None:
    full = render_frame(ct_parsed[10], preset="lung")
    thumbnail = render_frame(ct_parsed[10], preset="lung", size=128)
    assert thumbnail.size == (128, 128)
    assert abs(pixels(thumbnail).mean() - pixels(full).mean()) < 2
    assert render_frame(bundled("JPEG2000.dcm"), size=100).size == (25, 100)
    assert render_frame(bundled("MR_small.dcm"), size=256).size == (64, 64)


def test_png_is_lossless_and_jpeg_close() -> None:
    image = render_frame(bundled("SC_rgb_rle.dcm"))
    png = encode_png(image)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(pixels(Image.open(io.BytesIO(png))), pixels(image))
    assert Image.open(io.BytesIO(encode_jpeg(image.convert("RGBA")))).mode == "RGB"
    gray = render_frame(bundled("MR_small.dcm"))
    jpeg = Image.open(io.BytesIO(encode_jpeg(gray, quality=95)))
    assert (jpeg.format, jpeg.mode, jpeg.size) == ("JPEG", "L", (64, 64))
    assert np.abs(pixels(jpeg) - pixels(gray)).mean() < 3


def test_frame_count() -> None:
    assert frame_count(dcmread(io.BytesIO(bundled("examples_ybr_color.dcm")))) == 30
    assert frame_count(dcmread(io.BytesIO(bundled("MR_small.dcm")))) == 1
    assert frame_count(dcmread(io.BytesIO(bundled("rtplan.dcm")))) == 0


def test_render_refuses_bad_requests_clearly() -> None:
    mr = parse_instance(bundled("MR_small.dcm"))
    with pytest.raises(IndexError, match="frame 1 is out of range"):
        render_frame(mr, 1)
    with pytest.raises(ValueError, match="unknown window preset 'liver'"):
        render_frame(mr, preset="liver")
    with pytest.raises(ValueError, match="window width must be positive"):
        render_frame(mr, window=(40, 0))
    with pytest.raises(ValueError, match="size must be at least 1"):
        render_frame(mr, size=0)
    with pytest.raises(RenderError, match="no pixel data"):
        render_frame(bundled("rtstruct.dcm"))
    with pytest.raises(InvalidDicom):
        render_frame(b"not dicom")
    video = dcmread(io.BytesIO(bundled("SC_rgb_jpeg_dcmtk.dcm")))
    video.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2: video, not for stills
    with pytest.raises(RenderError, match="no pixel data decoder for transfer syntax MPEG2"):
        render_frame(video)
    del video.file_meta
    with pytest.raises(RenderError, match="no Transfer Syntax UID"):
        render_frame(video)


# ---------------------------------------------------------------------------------------------------
# Metadata for DICOMweb


def test_metadata_json_leaves_out_pixels_and_links_bulk_data() -> None:
    parsed = parse_instance(bundled("examples_overlay.dcm"))
    metadata = parsed.metadata_json("https://pacs.example/bulk/")
    json.dumps(metadata)
    assert "7FE00010" not in metadata
    assert metadata["60003000"] == {"vr": "OW", "BulkDataURI": "https://pacs.example/bulk/60003000"}
    assert metadata["00080018"] == {"vr": "UI", "Value": [parsed.sop_uid]}
    assert metadata["00281050"]["Value"] == [450, 200]

    def add_private_binaries(ds: Dataset) -> None:
        block = ds.private_block(0x0009, "telemed test", create=True)
        block.add_new(0x01, "OB", bytes(768))  # 1024 bytes once base64-encoded: still inline
        block.add_new(0x02, "OB", bytes(770))

    small = parse_instance(rewritten(ct_series(1, 8, 8)[0], add_private_binaries)).metadata_json()
    assert small["00091001"]["InlineBinary"] == "A" * 1024
    assert small["00091002"] == {"vr": "OB", "BulkDataURI": "bulkdata/00091002"}


def test_metadata_json_carries_chinese_names_as_unicode() -> None:
    metadata = parse_instance(charset_file("chrX2.dcm")).metadata_json()
    assert metadata["00100010"]["Value"] == [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}]
    generated = parse_instance(ct_series(1, 8, 8, charset="ISO 2022 IR 58")[0]).metadata_json()
    assert generated["00081030"]["Value"] == ["胸部CT平扫"]
    assert generated["00100010"]["Value"] == [{"Alphabetic": "张^三"}]


# ---------------------------------------------------------------------------------------------------
# Character sets


@pytest.mark.parametrize(
    ("name", "display", "raw"),
    [
        ("chrX1.dcm", "王小東", "Wang^XiaoDong=王^小東"),  # ISO_IR 192 (UTF-8)
        ("chrX2.dcm", "王小东", "Wang^XiaoDong=王^小东"),  # GB18030
        ("chrH31.dcm", "山田太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう"),  # ISO 2022 IR 87
        ("chrI2.dcm", "洪吉洞", "Hong^Gildong=洪^吉洞=홍^길동"),  # ISO 2022 IR 149
        ("chrFren.dcm", "Buc Jérôme", "Buc^Jérôme"),
    ],
)
def test_pydicom_charset_samples_give_the_known_names(name: str, display: str, raw: str) -> None:
    parsed = parse_instance(charset_file(name))
    assert (parsed.patient_name, parsed.patient_name_raw) == (display, raw)


@pytest.mark.parametrize("charset", sorted(CHARSETS))
def test_generated_chinese_text_round_trips_in_every_chinese_charset(charset: str) -> None:
    data = ct_series(1, 8, 8, charset=charset, patient_name="Zhang^XiaoDong=张^小东")[0]
    parsed = parse_instance(data)
    assert (parsed.patient_name, parsed.patient_name_raw) == ("张小东", "Zhang^XiaoDong=张^小东")
    assert (parsed.study_description, parsed.series_description) == ("胸部CT平扫", "胸部 5mm 软组织")
    assert parsed.dataset.InstitutionName == "青山县人民医院"
    assert display_name(parsed.dataset.ReferringPhysicianName) == "赵医生"
    if charset == "ISO 2022 IR 58":
        assert parsed.specific_character_set == ("ISO 2022 IR 6", "ISO 2022 IR 58")
        assert b"=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab" in data  # PS3.5 Annex J encoding


def test_gb18030_carries_characters_outside_gbk() -> None:
    parsed = parse_instance(ct_series(1, 8, 8, charset="GB18030", patient_name="王^𠮷")[0])
    assert parsed.patient_name == "王𠮷"


def test_gb2312_written_without_escape_sequences_still_reads_right() -> None:
    """pydicom 3.0.2 writes ISO 2022 IR 58 text as bare GB 2312 bytes; read them as GB 2312 too."""

    def to_ir58(ds: Dataset) -> None:
        ds.SpecificCharacterSet = ["ISO 2022 IR 6", "ISO 2022 IR 58"]
        ds.PatientName = "Zhang^San=张^三"
        ds.OtherPatientNames = ["张^叁", "Zhang^San"]

    data = rewritten(ct_series(1, 8, 8)[0], to_ir58)
    assert b"\x1b$)A" not in data  # no escape sequences: not what PS3.5 asks for
    parsed = parse_instance(data)
    assert (parsed.patient_name, parsed.study_description) == ("张三", "胸部CT平扫")
    assert list(map(str, parsed.dataset.OtherPatientNames)) == ["张^叁", "Zhang^San"]


@pytest.mark.parametrize(
    ("name", "display"),
    [
        ("Wang^XiaoDong=王^小東", "王小東"),
        ("Zhang^San", "Zhang San"),
        ("Smith^John^Paul^Dr^Jr", "Smith John Paul"),
        ("=李^四", "李四"),
        ("^^^^", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_display_name_prefers_the_ideographic_group(name: str | None, display: str) -> None:
    assert display_name(name) == display


# ---------------------------------------------------------------------------------------------------
# Invalid input


def test_empty_and_non_dicom_input_is_refused() -> None:
    with pytest.raises(InvalidDicom, match="empty file"):
        parse_instance(b"")
    random_bytes = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for data in (random_bytes, b"%PDF-1.7 not an image", b"\x00" * 132):
        with pytest.raises(InvalidDicom, match="not a DICOM file"):
            parse_instance(data)


def test_truncated_ct_is_refused_at_each_kind_of_cut() -> None:
    data = ct_series(1, 64, 64, seed=11)[0]
    pixel_start = pixel_data_offset(data)
    cuts = {
        100: "not a DICOM file",  # inside the preamble
        150: "Transfer Syntax UID",  # inside the file meta information
        400: "truncated or corrupt file",  # inside the dataset's element headers
        pixel_start - 12: "no pixel data in this CT Image Storage",  # before the Pixel Data element
        pixel_start - 5: "bytes after the last complete element",  # inside its header
        pixel_start + 10: r"element \(7FE0,0010\) holds 10 of its 8192 bytes",
        len(data) - 1: "holds 8191 of its 8192 bytes",
    }
    for keep, message in cuts.items():
        with pytest.raises(InvalidDicom, match=message):
            parse_instance(truncated(data, keep=keep))
    with pytest.raises(InvalidDicom, match="truncated file"):
        parse_instance(truncated(data))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ct_series(1, 16, 16, seed=12)[0],
        lambda: ct_series(1, 16, 16, seed=12, charset="ISO 2022 IR 58")[0],
        lambda: multiframe_us(2, rows=16, cols=16, rle=True),
        lambda: without_preamble(ct_series(1, 16, 16, seed=12)[0]),
    ],
    ids=["native", "iso2022", "rle", "bare-implicit"],
)
def test_every_cut_of_a_small_image_is_refused(make: Callable[[], bytes]) -> None:
    data = make()
    parse_instance(data)
    for keep in range(len(data)):
        with pytest.raises(InvalidDicom):
            parse_instance(data[:keep])


def test_pydicoms_own_truncated_files_are_refused() -> None:
    with pytest.raises(InvalidDicom, match=r"\(7FE0,0010\) holds 8130 of its 8192 bytes"):
        parse_instance(bundled("MR_truncated.dcm"))
    with pytest.raises(InvalidDicom, match="truncated file"):
        parse_instance(bundled("rtplan_truncated.dcm"))


def test_pixel_data_shorter_than_the_image_is_refused() -> None:
    def halve(ds: Dataset) -> None:
        ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]

    with pytest.raises(InvalidDicom, match="truncated pixel data: 256 of 512 bytes for 1 frame"):
        parse_instance(rewritten(ct_series(1, 16, 16)[0], halve))
    with pytest.raises(InvalidDicom, match="the Image Pixel module lacks Rows"):
        parse_instance(rewritten(ct_series(1, 16, 16)[0], lambda ds: delattr(ds, "Rows")))


def test_encapsulated_pixel_data_must_hold_well_formed_fragments_for_every_frame() -> None:
    data = multiframe_us(2, rows=16, cols=16, rle=True)
    with pytest.raises(InvalidDicom, match="2 fragments for 3 frames"):
        parse_instance(rewritten(data, lambda ds: setattr(ds, "NumberOfFrames", 3)))
    start = pixel_data_offset(data) + 16  # past the offset table item (header + 2 offsets): fragment 1
    length = int.from_bytes(data[start + 4 : start + 8], "little")
    broken = data[: start + 4] + (length + 10_000).to_bytes(4, "little") + data[start + 8 :]
    with pytest.raises(InvalidDicom, match="truncated encapsulated pixel data: fragment 1"):
        parse_instance(broken)
    not_an_item = data[:start] + b"\x10\x00\x10\x00" + data[start + 4 :]
    with pytest.raises(InvalidDicom, match=r"expected a fragment item at offset 16, found \(0010,0010\)"):
        parse_instance(not_an_item)
    offset_table_only = b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
    with pytest.raises(InvalidDicom, match="holds no compressed fragment"):
        parse_instance(rewritten(data, lambda ds: setattr(ds, "PixelData", offset_table_only)))


@pytest.mark.parametrize(
    "keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"]
)
def test_missing_uids_are_refused(keyword: str) -> None:
    def remove(ds: Dataset) -> None:
        delattr(ds, keyword)

    with pytest.raises(InvalidDicom, match=f"missing {keyword}"):
        parse_instance(rewritten(ct_series(1, 8, 8)[0], remove))


@pytest.mark.parametrize("bad", ["1.2.03.4", "1.2..3", "1.2.abc", "1.2.3.", "1." + "2" * 63])
def test_invalid_uids_are_refused(bad: str) -> None:
    def spoil(ds: Dataset) -> None:
        ds.StudyInstanceUID = bad

    with pytest.raises(InvalidDicom, match="invalid StudyInstanceUID"):
        parse_instance(rewritten(ct_series(1, 8, 8)[0], spoil))


def test_a_missing_transfer_syntax_is_refused() -> None:
    with pytest.raises(InvalidDicom, match=r"no Transfer Syntax UID \(0002,0010\)"):
        parse_instance(bundled("meta_missing_tsyntax.dcm"))


def test_only_implicit_vr_little_endian_is_accepted_without_a_preamble() -> None:
    original = ct_series(1, 32, 32, seed=13)[0]
    bare = parse_instance(without_preamble(original))
    assert bare.transfer_syntax_uid == ImplicitVRLittleEndian
    assert bare.sop_uid == parse_instance(original).sop_uid
    assert np.array_equal(
        pixels(render_frame(bare, preset="lung")), pixels(render_frame(original, preset="lung"))
    )
    assert parse_instance(bundled("rtstruct.dcm")).modality == "RTSTRUCT"  # a real bare implicit file
    for name in ("ExplVR_LitEndNoMeta.dcm", "ExplVR_BigEndNoMeta.dcm"):
        with pytest.raises(InvalidDicom, match="preamble"):
            parse_instance(bundled(name))
