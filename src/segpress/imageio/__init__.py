"""Reading images, importance masks and label maps, and writing output files safely.

Every problem a user can fix raises :class:`InputError`, :class:`OptionError` or :class:`OutputError`
with a one-line message that starts with the file name; no Pillow or OS traceback escapes.

Reading images (``load_image``)
-------------------------------
Sources: a file path, the file's bytes, a numpy array or a Pillow image.

Formats: JPEG (including MPO camera files), PNG, TIFF, WebP, AVIF (when Pillow is built with it),
GIF, BMP, PNM (PPM/PGM/PBM), JPEG 2000 and QOI. Other formats Pillow knows (EPS, PDF, ...) are
refused, because some of them hand the file to external programs. Of an animated or multi-page file
only the first frame is used.

Refused, with a message saying why: a missing file, a directory, an unreadable file, an empty file,
anything that is not an image in one of those formats, a truncated or corrupt image (the whole image
is decoded up front and damaged data is never padded), an image with zero width or height, and an
image with more than ``max_pixels`` pixels (default 178,956,970, Pillow's own default; raise it with
--max-pixels). The pixel count is read from the file header, so an oversized image ("decompression
bomb") is refused before anything is decoded. The limit applies to arrays and Pillow images too.

Orientation: the EXIF Orientation tag is applied, so ``pixels`` is upright, and the EXIF block handed
back says Orientation 1 so that viewers do not rotate the output a second time. A malformed EXIF block
is dropped (with a note) and the image is used as stored.

Metadata: ``icc_profile`` is the input's ICC profile while it still describes the pixels (it is
dropped after CMYK, LAB or HSV conversion). ``exif`` is the raw EXIF block of JPEG, PNG and WebP
files, always starting with ``b"Exif\\0\\0"``; TIFF tags are not carried over.

Pixel modes and what they become (``pixels`` is always uint8, HxWx3 RGB or HxW grey):

- RGB stays RGB; L (8-bit grey) stays grey; 1 (bilevel) becomes grey 0/255.
- P (palette) becomes RGB.
- RGBA, LA, PA, and palette, grey or RGB images with a transparent colour: alpha rule, i.e. composited
  onto white, because JPEG has no alpha (grey stays grey). Noted when any pixel was not opaque.
- 16-bit grey (I;16 variants) becomes 8-bit grey as round(value / 257). 16-bit RGB(A) PNG and TIFF
  files arrive already reduced by Pillow, which keeps the high byte. Both are noted.
- I (32-bit integer) is read as 16-bit and must hold values in 0..65535; F (32-bit float) must hold
  values in [0, 1], scaled by 255 and rounded. Anything else is refused: save such images as 8- or
  16-bit first.
- CMYK becomes RGB through Pillow's plain conversion (no colour management), and its ICC profile is
  dropped. LAB, HSV and YCbCr become RGB. All noted.
- Any other mode is refused, naming the mode.

``notes`` lists the conversions that change what the picture looks like or carries (alpha, bit
depth, colour model, orientation, dropped EXIF, extra frames); lossless expansions (1-bit, palette)
are not noted.

Numpy arrays: uint8 HxW, HxWx3 or HxWx4 (alpha rule); uint16 (reduced as above); float in [0, 1]
(scaled by 255 and rounded). Other dtypes and shapes are refused.

Reading masks (``load_mask``)
-----------------------------
A mask says how important each pixel is: float32 HxW in [0, 1]. Same sources, formats and refusals as
images, and EXIF orientation is applied. Its size must equal the image's (after orientation).

- An image with an alpha channel that is not fully opaque (RGBA, LA, PA, transparent colour): the alpha
  channel, /255.
- 16-bit grey: value / 65535; I must be in 0..65535 (/65535); F must be in [0, 1] (used as is).
- Anything else, including fully opaque RGBA: its luminance (0.299 R + 0.587 G + 0.114 B) / 255, so
  a 1-bit mask gives 0 and 1 and an 8-bit grey mask gives value / 255.
- Numpy arrays must be 2-D: bool (0/1), uint8 (/255), uint16 (/65535) or float in [0, 1].

Reading label maps (``load_labels``)
------------------------------------
A label map holds one segpress taxonomy class index per pixel (``segpress.taxonomy.CLASSES``): an
8-bit grey or palette PNG (a palette image gives its indices, not its colours), 1-bit, 16-bit grey,
or a 2-D integer array. Each value must be a class index (0..classes-1) or 255 (unlabelled); RGB and
other colour images are refused, since colours are not indices. Same refusals, orientation and size
rule as masks.

Writing (``atomic_write``)
--------------------------
Data goes to a hidden temporary file next to the target, is flushed to disk, then renamed over the
target, so a crash never leaves a half-written output. An existing target is replaced only with
``overwrite``; a target that is one of the input files is never replaced. Missing parent folders are
created. A new file gets the usual permissions (0666 less the umask); a replaced file keeps its own.

Output names (``output_path``)
------------------------------
With several inputs, or when ``-o`` names an existing folder or ends with a path separator, the
output is that folder / input stem + the format's extension. Otherwise ``-o`` is the output file,
taken exactly as given (no extension is added when it has none).

Modules
-------
``loading`` (the three loaders and ``LoadedImage``) reads through ``decoding`` (open, check the format,
decode every pixel), ``limits`` (``max_pixels``, Pillow's own check lifted while a load runs),
``orientation`` (EXIF orientation and the EXIF block carried over) and ``pixels`` (modes and arrays to
uint8, masks, label maps). ``writing`` is ``atomic_write``; ``paths`` names outputs and the masks or
label maps that go with an image; ``messages`` keeps OS and Pillow errors on one line.
"""

from .limits import DEFAULT_MAX_PIXELS
from .loading import ImageSource, LoadedImage, load_image, load_labels, load_mask
from .paths import LABELS_SUFFIX, companion_names, output_path
from .pixels import pillow_pixels
from .writing import atomic_write, check_writable

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "LABELS_SUFFIX",
    "ImageSource",
    "LoadedImage",
    "atomic_write",
    "check_writable",
    "companion_names",
    "load_image",
    "load_labels",
    "load_mask",
    "output_path",
    "pillow_pixels",
]
