package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/actas-dev/actas/storage"
)

// TOTP parameters (RFC 6238 §4 defaults, which authenticator apps assume): HMAC-SHA1, 6 digits,
// 30-second steps. One step of clock drift is accepted either way (RFC 6238 §5.2).
const (
	totpPeriod = 30
	totpSkew   = 1
	totpDigits = otp.DigitsSix
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

var (
	errTOTPInvalid  = errors.New("login: wrong TOTP code")
	errTOTPReplayed = errors.New("login: TOTP code already used")
)

// kindTOTPUsed records, per user and time step, that a code was accepted (RFC 6238 §5.2: "the
// verifier MUST NOT accept the second attempt of the same OTP after the successful validation").
const kindTOTPUsed = "login_totp_used"

type totpUse struct {
	At time.Time `json:"at"`
}

// NewTOTPSecret makes a new random RFC 6238 secret (160 bits, base32) for account at issuer, and the
// otpauth:// URI an authenticator app reads (usually from a QR code). This is what
// `actas users totp-secret` prints.
func NewTOTPSecret(issuer, account string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  20,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", fmt.Errorf("login: totp secret: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// verifyTOTP checks code against secret at the current time ±1 step and marks the matched step as
// used for userID. It returns errTOTPInvalid for a wrong code, errTOTPReplayed when that step (or a
// later one) was already used, and storage errors as they are. Marking is atomic (CreateRecord), so
// of two concurrent submissions of one code exactly one succeeds.
func (s *Service) verifyTOTP(ctx context.Context, userID, secret, code string) error {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return errTOTPInvalid
	}
	now := s.now()
	cur := now.Unix() / totpPeriod
	matched := int64(-1)
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return fmt.Errorf("login: user %s has an unusable TOTP secret: %w", userID, err)
		}
		// Every step is computed and compared, so timing does not reveal which one matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	if matched < 0 {
		return errTOTPInvalid
	}
	// A code for an older step is refused once a newer one was used (codes move forward only).
	for later := matched + 1; later <= cur+totpSkew; later++ {
		var u totpUse
		err := s.store.GetRecord(ctx, kindTOTPUsed, totpUseID(userID, later), &u)
		switch {
		case err == nil:
			return errTOTPReplayed
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
	}
	// The code stays acceptable until the end of step matched+skew; keep the mark one step longer.
	ttl := time.Unix((matched+totpSkew+2)*totpPeriod, 0).Sub(now)
	err := s.store.CreateRecord(ctx, kindTOTPUsed, totpUseID(userID, matched), totpUse{At: now}, ttl)
	if errors.Is(err, storage.ErrConflict) {
		return errTOTPReplayed
	}
	return err
}

func totpUseID(userID string, step int64) string {
	return hashID(userID) + ":" + strconv.FormatInt(step, 10)
}
