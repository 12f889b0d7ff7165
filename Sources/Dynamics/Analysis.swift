import Foundation

/// What an orbit does after a burn-in.
public struct OrbitSummary: Codable, Sendable, Equatable {
    /// The smallest period p ≤ maxPeriod with ‖x_{t+p} − x_t‖ ≤ tolerance·(1 + ‖x_t‖) over the
    /// whole window; 1 = a fixed point; 0 = none found (chaotic, quasi-periodic or too long).
    public var period: Int
    /// The largest Lyapunov exponent (mean log growth of a tangent vector per step).
    public var lyapunov: Double
    /// True when the orbit left every bound (‖x‖ > 1e6 or not finite).
    public var diverged: Bool
    /// The first coordinate along the recorded window (for bifurcation diagrams).
    public var samples: [Double]
}

public enum OrbitAnalysis {
    /// Iterates `map` from `x0` for `burnIn` steps, then `window` more while measuring.
    public static func summarize(_ map: IteratedMap, from x0: [Double], burnIn: Int = 2000, window: Int = 1000,
                                 maxPeriod: Int = 64, tolerance: Double = 1e-7) -> OrbitSummary {
        var x = x0
        let n = map.dimension
        var v = [Double](repeating: 0, count: n); v[0] = 1
        if n > 1 { for i in 1..<n { v[i] = 0.5 / Double(i + 1) } }
        normalize(&v)
        var sumLog = 0.0, counted = 0
        var orbit = [[Double]]()
        for t in 0..<(burnIn + window) {
            // tangent vector: v ← J v / ‖J v‖ (Benettin's method for the largest exponent)
            let J = map.jacobian(x)
            var w = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { w[i] += J[i * n + j] * v[j] } }
            let g = norm(w)
            x = map.step(x)
            if !x.allSatisfy({ $0.isFinite && Swift.abs($0) < 1e6 }) {
                return OrbitSummary(period: 0, lyapunov: .infinity, diverged: true, samples: [])
            }
            if g > 0 { for i in 0..<n { v[i] = w[i] / g } } else { v = [Double](repeating: 0, count: n); v[0] = 1 }
            if t >= burnIn {
                sumLog += g > 0 ? log(g) : -50  // a zero derivative: superstable, log taken as −50
                counted += 1
                orbit.append(x)
            }
        }
        var period = 0
        outer: for p in 1...maxPeriod where p < orbit.count {
            for t in 0..<(orbit.count - p) {
                var d = 0.0, m = 0.0
                for i in 0..<n { d = max(d, Swift.abs(orbit[t + p][i] - orbit[t][i])); m = max(m, Swift.abs(orbit[t][i])) }
                if d > tolerance * (1 + m) { continue outer }
            }
            period = p
            break
        }
        return OrbitSummary(period: period, lyapunov: sumLog / Double(max(1, counted)), diverged: false, samples: orbit.map { $0[0] })
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    static func normalize(_ v: inout [Double]) { let s = norm(v); if s > 0 { for i in v.indices { v[i] /= s } } }

    /// A sweep of a parameter: the orbit summary at each value.
    public static func sweep(_ values: [Double], start: [Double], burnIn: Int = 2000, window: Int = 400,
                             family: (Double) -> IteratedMap) -> [(Double, OrbitSummary)] {
        values.map { ($0, summarize(family($0), from: start, burnIn: burnIn, window: window)) }
    }
}

/// Statistics of a scalar time series (a per-sample loss along training).
public enum SeriesStatistics {
    /// The sample autocorrelation ρ(k) = Σ_t (x_t − x̄)(x_{t+k} − x̄) / Σ_t (x_t − x̄)², k = 0…maxLag.
    public static func autocorrelation(_ x: [Double], maxLag: Int) -> [Double] {
        let n = x.count
        guard n > 1 else { return [1] }
        let mean = x.reduce(0, +) / Double(n)
        let c = x.map { $0 - mean }
        let denom = c.reduce(0) { $0 + $1 * $1 }
        guard denom > 0 else { return [Double](repeating: 1, count: min(maxLag, n - 1) + 1) }
        return (0...min(maxLag, n - 1)).map { k in
            var s = 0.0
            for t in 0..<(n - k) { s += c[t] * c[t + k] }
            return s / denom
        }
    }

    /// The first lag where the autocorrelation falls below 1/e (a mixing time), interpolated
    /// linearly between lags; nil when it never does within the lags given.
    public static func mixingTime(_ acf: [Double]) -> Double? {
        let threshold = exp(-1.0)
        for k in 1..<max(1, acf.count) where acf[k] < threshold {
            let a = acf[k - 1], b = acf[k]
            return Double(k - 1) + (a - threshold) / (a - b)
        }
        return nil
    }

    /// The periodogram |Σ_t (x_t − x̄) e^{−2πi f t}|² / n at frequencies f = j/n, j = 0…n/2.
    public static func spectralDensity(_ x: [Double]) -> [Double] {
        let n = x.count
        guard n > 1 else { return [] }
        let mean = x.reduce(0, +) / Double(n)
        return (0...(n / 2)).map { j in
            var re = 0.0, im = 0.0
            let w = -2 * Double.pi * Double(j) / Double(n)
            for t in 0..<n { let a = w * Double(t); re += (x[t] - mean) * cos(a); im += (x[t] - mean) * sin(a) }
            return (re * re + im * im) / Double(n)
        }
    }
}
