package register

import "context"

// RecordForTest keeps reg as a version the way Current does, so that a test can offer a register
// its sources could not produce (a field blanked) and see it refused.
func (s *Service) RecordForTest(ctx context.Context, by Staff, reg *Register) (*Version, error) {
	return s.record(ctx, by, reg)
}
