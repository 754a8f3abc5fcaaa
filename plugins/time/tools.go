package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeResult is a moment in a time zone, as both tools report it.
type TimeResult struct {
	Timezone  string `json:"timezone"`
	Datetime  string `json:"datetime"`
	DayOfWeek string `json:"day_of_week"`
	IsDST     bool   `json:"is_dst"`
}

// ConversionResult is what convert_time returns.
type ConversionResult struct {
	Source         TimeResult `json:"source"`
	Target         TimeResult `json:"target"`
	TimeDifference string     `json:"time_difference"`
}

// rfc3339Offset is RFC 3339 with a numeric offset even in UTC, so that a
// reader never has to know that Z means +00:00.
const rfc3339Offset = "2006-01-02T15:04:05-07:00"

// loadZone loads an IANA time zone, with an error a model can act on.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, fmt.Errorf("no time zone given: use an IANA name such as Europe/Paris")
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Paris", name)
	}
	return loc, nil
}

func describe(zone string, t time.Time) TimeResult {
	return TimeResult{
		Timezone:  zone,
		Datetime:  t.Format(rfc3339Offset),
		DayOfWeek: t.Weekday().String(),
		IsDST:     t.IsDST(),
	}
}

// currentTime is get_current_time at the instant now.
func currentTime(zone string, now time.Time) (TimeResult, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return TimeResult{}, err
	}
	return describe(zone, now.In(loc).Truncate(time.Second)), nil
}

// convertTime is convert_time: hhmm on today's date in the source zone
// (today as of now, there), and the same instant in the target zone.
func convertTime(sourceZone, hhmm, targetZone string, now time.Time) (ConversionResult, error) {
	src, err := loadZone(sourceZone)
	if err != nil {
		return ConversionResult{}, err
	}
	dst, err := loadZone(targetZone)
	if err != nil {
		return ConversionResult{}, err
	}
	clock, err := time.Parse("15:04", hhmm)
	if err != nil {
		return ConversionResult{}, fmt.Errorf("invalid time %q: use 24-hour HH:MM, such as 14:30", hhmm)
	}
	y, m, d := now.In(src).Date()
	at := time.Date(y, m, d, clock.Hour(), clock.Minute(), 0, 0, src)
	_, srcOffset := at.Zone()
	_, dstOffset := at.In(dst).Zone()
	return ConversionResult{
		Source:         describe(sourceZone, at),
		Target:         describe(targetZone, at.In(dst)),
		TimeDifference: hoursDiff(dstOffset - srcOffset),
	}, nil
}

// hoursDiff renders an offset difference in seconds as the reference time
// server does: "+2.0h", "-5.5h", "+5.75h".
func hoursDiff(seconds int) string {
	h := float64(seconds) / 3600
	s := strconv.FormatFloat(h, 'f', 2, 64)
	if seconds%3600 == 0 {
		s = strconv.FormatFloat(h, 'f', 1, 64)
	} else {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if h >= 0 {
		s = "+" + s
	}
	return s + "h"
}
