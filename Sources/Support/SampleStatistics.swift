/// Summaries of repeated runs (seeds) for the experiment tables.
public enum SampleStatistics {
    /// Mean and sample standard deviation (0 for a single value).
    public static func meanAndDeviation(_ x: [Double]) -> (mean: Double, deviation: Double) {
        let m = x.reduce(0, +) / Double(x.count)
        let v = x.count > 1 ? x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1) : 0
        return (m, v.squareRoot())
    }

    /// Half the width of the 95 % confidence interval of the mean of `x` (Student's t with n − 1
    /// degrees of freedom; nil for fewer than two values).
    public static func confidenceHalfWidth95(_ x: [Double]) -> Double? {
        guard x.count >= 2 else { return nil }
        // t_{0.975, ν} for ν = 1…30 (standard tables); beyond, the normal 1.96 is within 2 %.
        let t: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                           2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        let nu = x.count - 1
        return (nu <= t.count ? t[nu - 1] : 1.96) * meanAndDeviation(x).deviation / Double(x.count).squareRoot()
    }

    /// Spearman's rank correlation of two equally long series (average ranks for ties; nil when
    /// either is constant or shorter than 3).
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
        guard a.count == b.count, a.count >= 3 else { return nil }
        func ranks(_ x: [Double]) -> [Double] {
            let order = x.indices.sorted { x[$0] < x[$1] }
            var r = [Double](repeating: 0, count: x.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
                for m in i...j { r[order[m]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
    }
    let ra = ranks(a), rb = ranks(b)
    let (ma, sa) = meanAndDeviation(ra), (mb, sb) = meanAndDeviation(rb)
    guard sa > 0, sb > 0 else { return nil }
    let cov = zip(ra, rb).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) } / Double(a.count - 1)
    return cov / (sa * sb)
    }
}
