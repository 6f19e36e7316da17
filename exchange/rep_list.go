package exchange

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// RepFilter selects sessions for [Service.List]. Actor and Target are user ids (a local actor);
// Active, when set, keeps only active (true) or ended (false) sessions. Sessions come newest
// first; Cursor is the NextCursor of the previous page.
type RepFilter struct {
	Actor  string
	Target string
	Active *bool
	Cursor string
	// Limit is the page size: default 50, at most 200.
	Limit int
}

// ErrBadCursor: a cursor that List did not hand out.
var ErrBadCursor = errors.New("exchange: invalid cursor")

const (
	repDefaultLimit = 50
	repMaxLimit     = 200
	// repScanFactor bounds how many index entries one page reads (Limit × factor): a page with
	// few matches ends early with a cursor to go on from.
	repScanFactor = 20
	// repCursorID is the id part of a cursor that marks a day boundary rather than an entry.
	// It is the smallest possible id ('-' sorts first in the base64url alphabet).
	repCursorID = "----------------------"
)

// List returns one page of sessions, newest first, and the cursor of the next page ("" at the
// end). It reads the actor's index when Actor is set, else the target's, else the per-day
// indexes (every session within the retention period).
func (s *Service) List(ctx context.Context, f RepFilter) ([]*RepSession, string, error) {
	if f.Limit <= 0 {
		f.Limit = repDefaultLimit
	}
	f.Limit = min(f.Limit, repMaxLimit)
	var after string // members strictly older than the cursor
	if f.Cursor != "" {
		if _, _, ok := repParseMember(f.Cursor); !ok {
			return nil, "", ErrBadCursor
		}
		after = f.Cursor
	}
	p := &repPage{s: s, f: f, budget: f.Limit * repScanFactor}
	var err error
	switch {
	case f.Actor != "":
		err = p.index(ctx, repActorIndexKey(repTag("", f.Actor)), after)
	case f.Target != "":
		err = p.index(ctx, repTargetIndexKey(repTag("", f.Target)), after)
	default:
		err = p.days(ctx, after)
	}
	if err != nil {
		return nil, "", err
	}
	return p.out, p.next, nil
}

// repPage collects one page.
type repPage struct {
	s      *Service
	f      RepFilter
	budget int
	out    []*RepSession
	next   string // the cursor of the next page
	last   string // the last index entry read
	full   bool
}

// index pages through one index set.
func (p *repPage) index(ctx context.Context, key, after string) error {
	members, err := p.s.kv.SetMembers(ctx, key)
	if err != nil {
		return fmt.Errorf("exchange: list representations: %w", err)
	}
	return p.take(ctx, members, after)
}

// days pages through the per-day indexes from the cursor's day (or today) back to the oldest day
// that can still hold a readable session.
func (p *repPage) days(ctx context.Context, after string) error {
	now := p.s.o.Now().UTC()
	day := now
	if after != "" {
		t, id, _ := repParseMember(after)
		day = t
		if id == repCursorID {
			day = t.Add(-time.Millisecond) // a day boundary: nothing of t's own day is left
		}
	}
	oldest := now.Add(-p.s.o.Retention - p.s.o.MaxSessionTTL - 24*time.Hour)
	for ; !day.Before(oldest) && !p.full; day = repDayBefore(day) {
		p.budget--
		if err := p.index(ctx, repDayKey(repDay(day)), after); err != nil {
			return err
		}
		if p.budget <= 0 && !p.full {
			// Out of budget between days: the next page starts with the next older day (every
			// entry of that day sorts before the first instant of the day after it).
			p.next = repMember(repDayBefore(day).Add(time.Nanosecond), repCursorID)
			return nil
		}
	}
	return nil
}

// take reads the members older than after, newest first, into the page.
func (p *repPage) take(ctx context.Context, members []string, after string) error {
	members = slices.DeleteFunc(members, func(m string) bool {
		_, _, ok := repParseMember(m)
		return !ok || (after != "" && m >= after)
	})
	slices.Sort(members)
	slices.Reverse(members)
	now := p.s.o.Now()
	for _, m := range members {
		if p.budget <= 0 {
			// Out of budget: the next page starts after the last entry read.
			p.full = true
			p.next = cmp.Or(p.last, after)
			return nil
		}
		p.budget--
		p.last = m
		_, id, _ := repParseMember(m)
		rec, _, _, err := p.s.load(ctx, id)
		switch {
		case errors.Is(err, ErrRepresentationNotFound):
			continue
		case err != nil:
			return err
		}
		if (p.f.Actor != "" && (rec.Actor != p.f.Actor || rec.ActorIssuer != "")) ||
			(p.f.Target != "" && rec.Target != p.f.Target) ||
			(p.f.Active != nil && *p.f.Active == rec.Ended(now)) {
			continue
		}
		p.out = append(p.out, rec)
		if len(p.out) == p.f.Limit {
			p.full, p.next = true, m
			return nil
		}
	}
	return nil
}
