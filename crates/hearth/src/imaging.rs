//! Uploaded images made safe to keep and serve: decoded within memory
//! limits, turned upright, and written anew, so nothing but the picture
//! survives — no EXIF (camera, GPS position, time), no comments or XMP,
//! nothing appended after the image (the "polyglot" PNG that is also an
//! HTML page or a zip). A colour profile is kept (colours would shift
//! without it). Large images also get a thumbnail for pages.
//!
//! | uploaded | kept as | how |
//! |---|---|---|
//! | PNG | PNG | decoded and re-encoded (an APNG keeps its first frame) |
//! | JPEG | JPEG | decoded, EXIF orientation applied, re-encoded at quality 85 |
//! | GIF | GIF | every frame copied as-is (palette, delay, loop count); extensions dropped |
//! | WebP | JPEG, or PNG with transparency | decoded and re-encoded (animations refused) |

use std::io::Cursor;
use std::num::NonZeroU64;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::{CompressionType, FilterType, PngDecoder, PngEncoder};
use image::codecs::webp::WebPDecoder;
use image::{DynamicImage, ImageDecoder, ImageEncoder};

use crate::error::{Error, Result};
use crate::uploads::{Kind, MAX_UPLOAD_PIXELS};

/// The box a thumbnail fits in (Discourse's default `max_image_width` ×
/// `max_image_height`); smaller images need none.
pub const THUMBNAIL_BOX: (u32, u32) = (690, 500);

/// The most memory one decode may allocate. A picture at
/// [`MAX_UPLOAD_PIXELS`] in RGBA needs 200 MB; decoders that would go
/// beyond this (a lying header, a bomb) stop with an error.
const MAX_DECODE_BYTES: u64 = 256 << 20;

/// The most pixels all the frames of an animation may have together: a
/// 1,000-frame animation of large frames is a CPU bomb even when each
/// frame is within [`MAX_UPLOAD_PIXELS`].
pub const MAX_ANIMATION_PIXELS: u64 = 4 * MAX_UPLOAD_PIXELS;

/// JPEG quality of re-encoded photos and thumbnails.
const JPEG_QUALITY: u8 = 85;

/// The largest colour profile kept (real ones are 0.5–4 KB; anything
/// bigger is dropped, not refused).
const MAX_ICC: usize = 64 << 10;

/// A picture ready to store.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub kind: Kind,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub thumbnail: Option<Thumbnail>,
}

/// A smaller copy of a large picture, in the picture's format.
#[derive(Debug)]
pub(crate) struct Thumbnail {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

fn unreadable(kind: Kind, e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "file",
        format!(
            "not a readable {} image ({e}); save it again in an image editor and retry",
            kind.name()
        ),
    )
}

/// Decodes, orients, strips and re-encodes an upload `sniffed` as `kind`
/// (whose header already passed the pixel cap).
pub(crate) fn prepare(kind: Kind, bytes: &[u8]) -> Result<Prepared> {
    let fail = |e: image::ImageError| unreadable(kind, e);
    let cursor = Cursor::new(bytes);
    let (image, icc) = match kind {
        Kind::Gif => return copy_gif(bytes),
        Kind::Png => decode(PngDecoder::new(cursor).map_err(fail)?).map_err(fail)?,
        Kind::Jpeg => decode(JpegDecoder::new(cursor).map_err(fail)?).map_err(fail)?,
        Kind::Webp => {
            let d = WebPDecoder::new(cursor).map_err(fail)?;
            if d.has_animation() {
                return Err(Error::invalid(
                    "file",
                    "an animated WebP image: upload the animation as a GIF instead",
                ));
            }
            decode(d).map_err(fail)?
        }
    };
    // WebP is kept as a JPEG photo, or as a PNG when it is transparent
    // (Hearth has no lossy WebP encoder, and lossless would bloat photos).
    let out_kind = match kind {
        Kind::Webp if image.color().has_alpha() => Kind::Png,
        Kind::Webp => Kind::Jpeg,
        k => k,
    };
    let (width, height) = (image.width(), image.height());
    let thumbnail = if width > THUMBNAIL_BOX.0 || height > THUMBNAIL_BOX.1 {
        let small = image.thumbnail(THUMBNAIL_BOX.0, THUMBNAIL_BOX.1);
        Some(Thumbnail {
            width: small.width(),
            height: small.height(),
            bytes: encode(out_kind, &small, icc.clone()).map_err(fail)?,
        })
    } else {
        None
    };
    Ok(Prepared {
        kind: out_kind,
        bytes: encode(out_kind, &image, icc).map_err(fail)?,
        width,
        height,
        thumbnail,
    })
}

/// The picture upright, and its colour profile.
fn decode(mut d: impl ImageDecoder) -> image::ImageResult<(DynamicImage, Option<Vec<u8>>)> {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    d.set_limits(limits)?;
    let orientation = d.orientation()?;
    let icc = d.icc_profile()?.filter(|p| p.len() <= MAX_ICC);
    let mut image = DynamicImage::from_decoder(d)?;
    image.apply_orientation(orientation);
    Ok((image, icc))
}

fn encode(kind: Kind, image: &DynamicImage, icc: Option<Vec<u8>>) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        Kind::Jpeg => {
            let mut e = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            if let Some(p) = icc {
                let _ = e.set_icc_profile(p);
            }
            // JPEG has no alpha: grey stays grey, anything else is RGB.
            match image {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    image.write_with_encoder(e)?
                }
                DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_) => {
                    DynamicImage::ImageLuma8(image.to_luma8()).write_with_encoder(e)?
                }
                _ => DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(e)?,
            }
        }
        _ => {
            let mut e = PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                FilterType::Adaptive,
            );
            if let Some(p) = icc {
                let _ = e.set_icc_profile(p);
            }
            match image {
                DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => {
                    DynamicImage::ImageRgba8(image.to_rgba8()).write_with_encoder(e)?
                }
                _ => image.write_with_encoder(e)?,
            }
        }
    }
    Ok(out)
}

/// A GIF rewritten from its frames: the indexed pixels, palettes, delays,
/// disposal and loop count are copied unchanged (no re-quantising, so no
/// loss); comments, application data and anything after the trailer are
/// not. Animated GIFs get no thumbnail (it would stop the animation).
fn copy_gif(bytes: &[u8]) -> Result<Prepared> {
    let fail = |e: &dyn std::fmt::Display| unreadable(Kind::Gif, e);
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    if let Some(limit) = NonZeroU64::new(MAX_DECODE_BYTES) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| fail(&e))?;
    let (width, height) = (decoder.width(), decoder.height());
    let global = decoder.global_palette().unwrap_or_default().to_vec();
    // The loop count (NETSCAPE2.0 extension) comes before the first frame;
    // it is known once that frame is read.
    let Some(first) = decoder.read_next_frame().map_err(|e| fail(&e))?.cloned() else {
        return Err(unreadable(Kind::Gif, "it has no frames"));
    };
    let repeat = decoder.repeat();
    let mut out = Vec::new();
    let mut pixels: u64 = 0;
    let mut count = |frame: &gif::Frame<'_>| {
        pixels += u64::from(frame.width) * u64::from(frame.height);
        if pixels > MAX_ANIMATION_PIXELS {
            return Err(Error::invalid(
                "file",
                format!(
                    "an animation of more than {MAX_ANIMATION_PIXELS} pixels in all its frames; shorten it or make it smaller"
                ),
            ));
        }
        Ok(())
    };
    {
        let mut encoder =
            gif::Encoder::new(&mut out, width, height, &global).map_err(|e| fail(&e))?;
        if repeat != gif::Repeat::Finite(0) {
            encoder.set_repeat(repeat).map_err(|e| fail(&e))?;
        }
        count(&first)?;
        encoder.write_frame(&first).map_err(|e| fail(&e))?;
        while let Some(frame) = decoder.read_next_frame().map_err(|e| fail(&e))? {
            count(frame)?;
            encoder.write_frame(frame).map_err(|e| fail(&e))?;
        }
    }
    Ok(Prepared {
        kind: Kind::Gif,
        bytes: out,
        width: u32::from(width),
        height: u32::from(height),
        thumbnail: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }));
        encode(Kind::Png, &img, None).expect("a PNG encodes")
    }

    #[test]
    fn large_images_get_a_thumbnail_that_fits_the_box() {
        let p = prepare(Kind::Png, &png(1380, 600)).expect("a real PNG");
        assert_eq!((p.kind, p.width, p.height), (Kind::Png, 1380, 600));
        let t = p.thumbnail.expect("a thumbnail");
        assert_eq!((t.width, t.height), (690, 300));
        assert!(t.bytes.starts_with(b"\x89PNG"));
        let p = prepare(Kind::Png, &png(690, 500)).expect("a real PNG");
        assert!(p.thumbnail.is_none(), "an image that fits needs none");
        let p = prepare(Kind::Png, &png(10, 1000)).expect("a real PNG");
        assert_eq!(p.thumbnail.map(|t| (t.width, t.height)), Some((5, 500)));
    }

    #[test]
    fn truncated_images_are_refused_with_a_next_step() {
        let bytes = png(100, 100);
        let e = prepare(Kind::Png, &bytes[..bytes.len() / 2]).expect_err("truncated");
        let text = e.to_string();
        assert!(text.contains("not a readable PNG image"), "{text}");
        assert!(text.contains("save it again"), "{text}");
    }
}
