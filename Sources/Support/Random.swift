#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast, seeded generator. All randomness in
/// texfield comes from an explicitly passed generator, so the same seed gives the same result.
///
/// A value type: copying it copies the stream. Not for cryptographic use.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The whole state (64 bits).
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    /// A normal sample by Box–Muller (two uniform draws, the cosine branch):
    /// `(σ · sqrt(−2 ln u1)) · cos(2π u2)` with u1 in (0, 1), u2 in [0, 1), evaluated in that
    /// order (σ = 1 gives the standard normal bit for bit as `sqrt(−2 ln u1) · cos(2π u2)`).
    public mutating func nextGaussian(standardDeviation sigma: Double = 1) -> Double {
        let u1 = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return sigma * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
