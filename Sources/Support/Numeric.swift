/// Conversions of floating-point values that come from data (files, options, a diverged
/// network) into integers. Swift's `Int(Double)` traps on NaN, ±∞ and values beyond ±2⁶³;
/// these never trap.
extension Int {
    /// `x` rounded toward zero, then clamped into `range`; NaN becomes `range.lowerBound`.
    @inlinable public init(clamping x: Double, to range: ClosedRange<Int>) {
        if x.isNaN { self = range.lowerBound; return }
        if x <= Double(range.lowerBound) { self = range.lowerBound; return }
        if x >= Double(range.upperBound) { self = range.upperBound; return }
        self = Int(x)
    }
}

extension Double {
    /// A texture-space coordinate made safe to turn into a pixel index: NaN becomes 0, values
    /// are reduced to [0, 1) when `wrap`, otherwise clamped into [−1, 2] (enough for the edge).
    @inlinable public func safeTextureCoordinate(wrap: Bool) -> Double {
        guard isFinite else { return isNaN ? 0 : (wrap ? 0 : (self > 0 ? 2 : -1)) }
        if wrap { let f = self - self.rounded(.down); return f.isFinite && f < 1 ? f : 0 }
        return Swift.min(Swift.max(self, -1), 2)
    }
}
