package stats

import (
	"context"
)

// Bar is one bar of a chart: a group, how many quotes it counts, how many became contracts.
type Bar struct {
	Label            string
	Quotes           int64
	Converted        int64
	HiddenUnderK     bool // fewer than k quotes: neither count is shown
	ConversionPerMil int64
}

// Chart is the conversion of quotes by one attribute.
type Chart struct {
	Title string
	Bars  []Bar
}

// Charts are the performance page's charts: conversion by region, by price band, by quarter.
// Each bar counts at least k quotes, or shows nothing. They read the snapshot as it is (serve
// rebuilds it every few minutes when its sources changed), so that opening the page never waits
// for a rebuild; only the very first one is made here.
func (s *Service) Charts(ctx context.Context, k int) ([]Chart, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if snap.RefreshedAt.IsZero() {
		if _, err := s.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	opt := Options{}
	base, err := s.readCells(ctx, &opt)
	if err != nil {
		return nil, err
	}
	insurers, err := insurerCodes(ctx, s.db)
	if err != nil {
		return nil, err
	}
	specs := []struct {
		title     string
		attribute int
		level     int
	}{
		{"Transformation par région", attrPlace, 1},
		{"Transformation par tranche de prix (200 €)", attrPrice, 1},
		{"Transformation par trimestre", attrMonth, 1},
	}
	var charts []Chart
	for _, spec := range specs {
		counts := map[uint64][2]int64{}
		base.each(func(key uint64, v [2]uint32) {
			code := field(key, spec.attribute)
			for l := range spec.level {
				code = attributes[spec.attribute].up(l, code)
			}
			c := counts[code]
			c[0] += int64(v[0])
			c[1] += int64(v[1])
			counts[code] = c
		})
		chart := Chart{Title: spec.title}
		for code := uint64(1); code < 1<<attributes[spec.attribute].bits; code++ {
			c, ok := counts[code]
			if !ok {
				continue
			}
			b := Bar{Label: attributes[spec.attribute].text(spec.level, code, insurers), Quotes: c[0] + c[1], Converted: c[1]}
			if b.Quotes < int64(k) {
				b = Bar{Label: b.Label, HiddenUnderK: true}
			} else {
				b.ConversionPerMil = 1000 * b.Converted / b.Quotes
			}
			chart.Bars = append(chart.Bars, b)
		}
		charts = append(charts, chart)
	}
	return charts, nil
}
