package exchange

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the white border around a QR symbol, in modules (ISO/IEC 18004 §6.3.8: 4).
const qrQuietZone = 4

// qrDataURL renders link as a QR code (error correction level M, ISO/IEC 18004) in a black and
// white PNG, moduleSize pixels per module with the standard quiet zone, as a data: URL (RFC 2397).
//
// Why a data: URL and not a PNG served at a URL of its own: the image holds the code, so any URL
// that serves it is as good as the code for whoever reads it — and URLs end up in access logs,
// proxies and browser histories. Inline, the QR code travels only in the creation response, which
// already carries the code (Cache-Control: no-store), and an <img src> shows it as it is.
func qrDataURL(link string, moduleSize int) (string, error) {
	bc, err := qr.Encode(link, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("exchange: hand-off: QR code: %w", err)
	}
	b := bc.Bounds()
	n := b.Dx()
	side := (n + 2*qrQuietZone) * moduleSize
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := bc.At(b.Min.X+x, b.Min.Y+y).RGBA(); r != 0 {
				continue // a light module stays white
			}
			x0, y0 := (x+qrQuietZone)*moduleSize, (y+qrQuietZone)*moduleSize
			for dy := 0; dy < moduleSize; dy++ {
				row := img.Pix[(y0+dy)*img.Stride+x0:]
				for dx := 0; dx < moduleSize; dx++ {
					row[dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return "", fmt.Errorf("exchange: hand-off: QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
