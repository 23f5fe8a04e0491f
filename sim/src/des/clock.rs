//! Per-node clocks: how far a node's idea of the time strays from virtual time.
//!
//! A node's local time runs at `1 + drift_ppm / 10^6` times the speed of virtual time and may
//! have been stepped forward. The mapping is piecewise linear: changing the drift starts a new
//! piece at the current instant, so local time never jumps backwards (the node core requires
//! monotonic time).

/// Largest clock drift a scenario may ask for, in parts per million (10%).
pub const CLOCK_DRIFT_PPM_MAX: i64 = 100_000;

const PPM: i128 = 1_000_000;

/// One node's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Virtual time at which the current piece starts.
    virtual_origin_ns: u64,
    /// Local time at `virtual_origin_ns`.
    local_origin_ns: u64,
    /// Rate error of the current piece, in parts per million (positive: runs fast).
    drift_ppm: i64,
}

impl Clock {
    /// A clock that agrees with virtual time from `start_ns` on.
    pub fn exact(start_ns: u64) -> Clock {
        Clock {
            virtual_origin_ns: start_ns,
            local_origin_ns: start_ns,
            drift_ppm: 0,
        }
    }

    /// Local time at virtual time `virtual_ns` (not before the current piece's start).
    pub fn local_ns(&self, virtual_ns: u64) -> u64 {
        let d = virtual_ns.saturating_sub(self.virtual_origin_ns);
        if self.drift_ppm == 0 {
            return self.local_origin_ns.saturating_add(d);
        }
        let skew = (d as i128 * self.drift_ppm as i128).div_euclid(PPM);
        let local = self.local_origin_ns as i128 + d as i128 + skew;
        local.clamp(0, u64::MAX as i128) as u64
    }

    /// The earliest virtual time (at or after the current piece's start) at which local time
    /// has reached `local_ns`.
    pub fn virtual_ns(&self, local_ns: u64) -> u64 {
        if local_ns <= self.local_origin_ns {
            return self.virtual_origin_ns;
        }
        let x = (local_ns - self.local_origin_ns) as i128;
        if self.drift_ppm == 0 {
            return self.virtual_origin_ns.saturating_add(x as u64);
        }
        // Solve d + floor(d * ppm / 10^6) >= x for the smallest d, starting from the real
        // solution and correcting the rounding by a step or two.
        let rate = PPM + self.drift_ppm as i128;
        let mut d = (x * PPM + rate - 1) / rate;
        let reached = |d: i128| d + (d * self.drift_ppm as i128).div_euclid(PPM) >= x;
        while d > 0 && reached(d - 1) {
            d -= 1;
        }
        while !reached(d) {
            d += 1;
        }
        (self.virtual_origin_ns as i128 + d).clamp(0, u64::MAX as i128) as u64
    }

    /// From virtual time `now_ns` on, run with `drift_ppm` after stepping forward by
    /// `step_ns`.
    pub fn set(&mut self, now_ns: u64, drift_ppm: i64, step_ns: u64) {
        assert!(
            drift_ppm.abs() <= CLOCK_DRIFT_PPM_MAX,
            "clock drift {drift_ppm} ppm is beyond the limit the scenario checks"
        );
        let local = self.local_ns(now_ns).saturating_add(step_ns);
        *self = Clock {
            virtual_origin_ns: now_ns.max(self.virtual_origin_ns),
            local_origin_ns: local,
            drift_ppm,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_exact_and_time_is_monotonic() {
        for ppm in [-100_000, -37, 0, 1, 250, 100_000] {
            let mut c = Clock::exact(1_000);
            c.set(5_000, ppm, 17);
            let mut last = 0;
            for v in (5_000..200_000).step_by(997) {
                let l = c.local_ns(v);
                assert!(l >= last);
                last = l;
                let back = c.virtual_ns(l);
                assert!(back <= v, "ppm {ppm}: {back} > {v}");
                assert!(c.local_ns(back) >= l);
                if back > 5_000 {
                    assert!(c.local_ns(back - 1) < l);
                }
            }
        }
    }
}
