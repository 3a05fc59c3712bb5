package demo

import (
	"strconv"
	"unicode/utf8"
)

// appendPDF appends a minimal one-page PDF that shows the given lines in Helvetica, so that a demo
// document opens in any viewer. Text is encoded in WinAnsi (French accents included); the
// cross-reference table carries the exact byte offsets a strict reader checks.
func appendPDF(b []byte, lines []string) []byte {
	start := len(b)
	var offsets [5]int
	b = append(b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"...)
	obj := func(n int, body string) {
		offsets[n-1] = len(b) - start
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " 0 obj\n"...)
		b = append(b, body...)
		b = append(b, "\nendobj\n"...)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>")
	obj(4, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")

	var text []byte
	text = append(text, "BT\n/F1 12 Tf\n16 TL\n72 770 Td\n"...)
	for i, line := range lines {
		if i > 0 {
			text = append(text, "T*\n"...)
		}
		text = append(text, '(')
		text = appendWinAnsi(text, line)
		text = append(text, ") Tj\n"...)
	}
	text = append(text, "ET"...)

	offsets[4] = len(b) - start
	b = append(b, "5 0 obj\n<< /Length "...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	b = append(b, " >>\nstream\n"...)
	b = append(b, text...)
	b = append(b, "\nendstream\nendobj\n"...)

	xref := len(b) - start
	b = append(b, "xref\n0 6\n0000000000 65535 f \n"...)
	for _, off := range offsets {
		b = appendPadded(b, int64(off), 10)
		b = append(b, " 00000 n \n"...)
	}
	b = append(b, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n"...)
	b = strconv.AppendInt(b, int64(xref), 10)
	b = append(b, "\n%%EOF\n"...)
	return b
}

// winAnsi maps the characters of French text outside Latin-1 to their WinAnsi bytes.
var winAnsi = map[rune]byte{'€': 0x80, '’': 0x92, '–': 0x96, '—': 0x97, 'œ': 0x9c, 'Œ': 0x8c, '…': 0x85}

// appendWinAnsi appends s as the body of a PDF literal string.
func appendWinAnsi(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case r >= 0xa0 && r <= 0xff:
			b = append(b, byte(r))
		default:
			if c, ok := winAnsi[r]; ok {
				b = append(b, c)
			} else {
				b = append(b, '?')
			}
		}
	}
	return b
}

// appendPadded appends n in decimal, left-padded with zeros to width digits.
func appendPadded(b []byte, n int64, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], n, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
