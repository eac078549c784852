"""A photo with no date inside it takes the date its file name gives, before the file's time."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from photoclip.app.words import taken_text
from photoclip.core.media.decode import decode_photo
from photoclip.core.media.filename_dates import date_from_filename

NOW = datetime(2026, 11, 30, 12, 0, 0)


@pytest.mark.parametrize(
    ("name", "taken"),
    [
        ("IMG_20190704_153012.jpg", "2019-07-04T15:30:12"),  # Android cameras
        ("PXL_20210101_123456789.jpg", "2021-01-01T12:34:56"),  # Pixel: milliseconds after the seconds
        ("IMG-20190704-WA0001.jpg", "2019-07-04T00:00:00"),  # WhatsApp: a day, no time
        ("Screenshot_2020-01-01-12-00-00.png", "2020-01-01T12:00:00"),
        ("2019-07-04 15.30.12.jpg", "2019-07-04T15:30:12"),  # Dropbox camera uploads
        ("photo_20190704T153012.jpg", "2019-07-04T15:30:12"),
        ("scan_1975_07_04.tif", "1975-07-04T00:00:00"),  # scanned prints
        ("VID_20200101_1234.jpg", "2020-01-01T00:00:00"),  # four digits are no time
    ],
)
def test_names_that_carry_a_date(name: str, taken: str) -> None:
    assert date_from_filename(name, NOW) == taken


@pytest.mark.parametrize(
    "name",
    [
        "DSC_1234.jpg",
        "skimage_chelsea.jpg",
        "b201907041234ab.jpg",  # inside a longer run of digits: a hash, not a date
        "20190230.jpg",  # 30 February
        "IMG_20991231.jpg",  # after today: a serial number, not a date
        "IMG_18990101.jpg",  # before EARLIEST_YEAR
        "2019-07_04.jpg",  # two different separators
    ],
)
def test_names_that_carry_no_date(name: str) -> None:
    assert date_from_filename(name, NOW) is None


def plain_jpeg(path: Path) -> Path:
    Image.new("RGB", (64, 48), (120, 80, 40)).save(path, "JPEG")  # no EXIF, no XMP
    os.utime(path, (1_700_000_000, 1_700_000_000))  # a copy's file time: November 2023
    return path


def test_a_photo_without_a_date_inside_takes_its_file_names(tmp_path: Path) -> None:
    meta = decode_photo(str(plain_jpeg(tmp_path / "IMG_20190704_153012.jpg")), 32).meta
    assert (meta.taken_at, meta.taken_source) == ("2019-07-04T15:30:12", "filename")
    assert taken_text(meta.taken_at, meta.taken_source) == "2019-07-04 15:30:12 (from the file name)"


def test_a_name_without_a_date_leaves_the_file_time(tmp_path: Path) -> None:
    meta = decode_photo(str(plain_jpeg(tmp_path / "holiday.jpg")), 32).meta
    assert meta.taken_source == "mtime" and meta.taken_at is not None and meta.taken_at.startswith("2023-11-1")


def test_the_date_inside_the_photo_wins_over_its_name(tmp_path: Path) -> None:
    path = tmp_path / "IMG_20190704_153012.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2001:02:03 04:05:06"
    Image.new("RGB", (64, 48)).save(path, "JPEG", exif=exif)
    meta = decode_photo(str(path), 32).meta
    assert (meta.taken_at, meta.taken_source) == ("2001-02-03T04:05:06", "exif")
