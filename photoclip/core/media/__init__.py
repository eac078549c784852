"""Reading photos: safe decode, colour modes, EXIF metadata, the thumbnail cache."""
