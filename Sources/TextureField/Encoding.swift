import CNetworkKernels
import Foundation
import Geometry
import Neural

/// How a surface point is presented to the network.
public enum Encoding: String, Sendable, Codable, CaseIterable {
    /// The eigenfunctions at the point, as they are (the reference baseline).
    case eigen
    /// Their absolute values (sign-invariant, loses information).
    case abs
    /// A random sign per eigenfunction per training batch (augmentation; none at evaluation).
    case signflip
    /// SignNet: φ(v_i) + φ(−v_i) with one small φ shared by all eigenfunctions, then the MLP ρ.
    case signnet
    /// SignNet whose φ also sees the eigenvalue: φ(v_i, λ_i) + φ(−v_i, λ_i).
    case signnetLambda = "signnet-lambda"
    /// The extrinsic baseline: xyz and random Fourier features of xyz (no eigenfunctions).
    case xyzRFF = "xyz-rff"
    /// Basis-invariant: per group of near-repeated eigenvalues, the projector entries against
    /// landmark points (`ProjectorFeatures`); unchanged by signs and by rotations inside groups.
    case projector

    public var usesEigenfunctions: Bool { self != .xyzRFF }
    public var isSignNet: Bool { self == .signnet || self == .signnetLambda }
}

/// The learned part of the SignNet encodings: φ(x) = w2ᵀ relu(w1·x + c_j) + b2 with `hidden`
/// units, where c_j = b1 (plain) or b1 + u1·λ̃_j (the eigenvalue variant, λ̃ = λ / λ_max).
/// Parameters in one flat vector: w1, b1, w2, b2, [u1].
public struct SignNetPhi: Sendable {
    public let hidden: Int
    public let usesEigenvalue: Bool
    public var parameters: [Float]
    public var gradients: [Float]

    public init<G: RandomNumberGenerator>(hidden: Int, usesEigenvalue: Bool, using rng: inout G) {
        self.hidden = hidden
        self.usesEigenvalue = usesEigenvalue
        let count = 3 * hidden + 1 + (usesEigenvalue ? hidden : 0)
        var p = [Float](repeating: 0, count: count)
        // φ starts near |x|: w1 of both signs so that relu(w1 x) + relu(−w1 x) = |w1||x|, small biases.
        for h in 0..<hidden {
            p[h] = Float.random(in: 0.5...1.5, using: &rng) * (h % 2 == 0 ? 1 : -1)
            p[hidden + h] = Float.random(in: -0.05...0.05, using: &rng)
            p[2 * hidden + h] = Float.random(in: 0.5...1.5, using: &rng) / Float(hidden)
        }
        p[3 * hidden] = 0
        if usesEigenvalue { for h in 0..<hidden { p[3 * hidden + 1 + h] = Float.random(in: -0.1...0.1, using: &rng) } }
        parameters = p
        gradients = [Float](repeating: 0, count: count)
    }

    public var parameterCount: Int { parameters.count }

    /// The per-column biases c (hidden × k, row-major) for normalised eigenvalues `lambda`.
    func columnBias(_ lambda: [Float]) -> [Float] {
        let k = lambda.count
        var c = [Float](repeating: 0, count: hidden * k)
        for h in 0..<hidden {
            let b = parameters[hidden + h], u = usesEigenvalue ? parameters[3 * hidden + 1 + h] : 0
            for j in 0..<k { c[h * k + j] = b + u * lambda[j] }
        }
        return c
    }

    /// out = φ(v) + φ(−v) entrywise (rows × k), rows split over the cores.
    public func forward(_ v: UnsafePointer<Float>, rows: Int, k: Int, lambda: [Float], into out: UnsafeMutablePointer<Float>) {
        let c = columnBias(lambda)
        let p = parameters, H = hidden
        nonisolated(unsafe) let (vp, op) = (v, out)
        BLASThreads.blocks(rows: rows) { r0, r1, _ in
            p.withUnsafeBufferPointer { pp in
                c.withUnsafeBufferPointer { cp in
                    tfk_signnet_forward(vp, Int64(k), Int64(r0), Int64(r1), Int32(H), pp.baseAddress!, cp.baseAddress!,
                                        pp.baseAddress! + 2 * H, pp[3 * H], op)
                }
            }
        }
    }

    /// Gradients of Σ gout ⊙ (φ(v) + φ(−v)) into `gradients` (overwritten).
    public mutating func backward(_ v: UnsafePointer<Float>, gout: UnsafePointer<Float>, rows: Int, k: Int, lambda: [Float]) {
        let c = columnBias(lambda)
        let p = parameters, H = hidden
        let shards = BLASThreads.workBlocks
        // Per shard: dw1 (H), dc (H × k), dw2 (H), db2 (1).
        let stride = 2 * H + H * k + 1
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: shards * stride)
        partial.initialize(repeating: 0, count: shards * stride)
        defer { partial.deallocate() }
        nonisolated(unsafe) let (vp, gp, pa) = (v, gout, partial)
        let used = BLASThreads.blocks(rows: rows) { r0, r1, s in
            let base = pa + s * stride
            p.withUnsafeBufferPointer { pp in
                c.withUnsafeBufferPointer { cp in
                    tfk_signnet_backward(vp, gp, Int64(k), Int64(r0), Int64(r1), Int32(H), pp.baseAddress!, cp.baseAddress!,
                                         pp.baseAddress! + 2 * H, base, base + H, base + H + H * k, base + 2 * H + H * k)
                }
            }
        }
        for i in gradients.indices { gradients[i] = 0 }
        for s in 0..<used {
            let base = partial + s * stride
            for h in 0..<H {
                gradients[h] += base[h]                               // w1
                gradients[2 * H + h] += base[H + H * k + h]           // w2
                var db = Float(0), du = Float(0)
                for j in 0..<k { let d = base[H + h * k + j]; db += d; du += d * lambda[j] }
                gradients[H + h] += db                                // b1
                if usesEigenvalue { gradients[3 * H + 1 + h] += du }  // u1
            }
            gradients[3 * H] += base[2 * H + H * k]                   // b2
        }
    }
}

/// Random Fourier features of positions: [p, sin(2π B p), cos(2π B p)] with B (m × 3) drawn
/// from N(0, σ²) — Tancik et al. 2020's Gaussian mapping; p is scaled into the unit cube.
public struct FourierFeatures: Sendable {
    public let frequencies: [Float]  // m × 3
    public let count: Int
    public var dimension: Int { 3 + 2 * count }

    public init<G: RandomNumberGenerator>(count: Int, sigma: Double, using rng: inout G) {
        self.count = count
        var f = [Float]()
        f.reserveCapacity(3 * count)
        for _ in 0..<(3 * count) { f.append(Float(rng.nextGaussian() * sigma)) }
        frequencies = f
    }

    /// Writes the features of `rows` points (3 floats each) into `out` (rows × dimension).
    func encode(_ points: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let m = count, dim = dimension, f = frequencies
        nonisolated(unsafe) let (pp, op) = (points, out)
        DispatchQueue.concurrentPerform(iterations: min(rows, 16)) { chunk in
            let r0 = chunk * rows / min(rows, 16), r1 = (chunk + 1) * rows / min(rows, 16)
            var angles = [Float](repeating: 0, count: m)
            f.withUnsafeBufferPointer { fb in
                for r in r0..<r1 {
                    let x = pp[3 * r], y = pp[3 * r + 1], z = pp[3 * r + 2]
                    let row = op + r * dim
                    row[0] = x; row[1] = y; row[2] = z
                    let twoPi = Float(2 * Double.pi)
                    for i in 0..<m { angles[i] = twoPi * (fb[3 * i] * x + fb[3 * i + 1] * y + fb[3 * i + 2] * z) }
                    tfk_sincos(angles, Int64(m), row + 3, row + 3 + m)
                }
            }
        }
    }
}

/// The viewing direction as the network's extra input (`FieldConfiguration.viewDependent`): the
/// 16 real spherical harmonics of degrees 0–3 at the unit vector from the surface point towards
/// the camera (world axes) — the direction encoding of instant-ngp and Plenoxels, with the same
/// constants and sign convention (Sloan's "Stupid Spherical Harmonics Tricks", appendix). They are
/// orthonormal on the sphere: ∫ Y_i Y_j dω = δ_ij (tested).
public enum ViewDirectionEncoding {
    public static let dimension = 16

    /// Writes the 16 features of direction (x, y, z) (normalised here; a zero vector gives the
    /// features of +z) into `out[0..<16]`.
    @inline(__always)
    public static func encode(_ x0: Float, _ y0: Float, _ z0: Float, into out: UnsafeMutablePointer<Float>) {
        let n = (x0 * x0 + y0 * y0 + z0 * z0).squareRoot()
        let ok = n > 1e-20 && n.isFinite
        let x = ok ? x0 / n : 0, y = ok ? y0 / n : 0, z = ok ? z0 / n : 1
        let xx = x * x, yy = y * y, zz = z * z
        out[0] = 0.28209479177387814
        out[1] = -0.48860251190291987 * y
        out[2] = 0.48860251190291987 * z
        out[3] = -0.48860251190291987 * x
        out[4] = 1.0925484305920792 * x * y
        out[5] = -1.0925484305920792 * y * z
        out[6] = 0.31539156525252005 * (2 * zz - xx - yy)
        out[7] = -1.0925484305920792 * x * z
        out[8] = 0.5462742152960396 * (xx - yy)
        out[9] = -0.5900435899266435 * y * (3 * xx - yy)
        out[10] = 2.890611442640554 * x * y * z
        out[11] = -0.4570457994644658 * y * (4 * zz - xx - yy)
        out[12] = 0.3731763325901154 * z * (2 * zz - 3 * xx - 3 * yy)
        out[13] = -0.4570457994644658 * x * (4 * zz - xx - yy)
        out[14] = 1.445305721320277 * z * (xx - yy)
        out[15] = -0.5900435899266435 * x * (xx - 3 * yy)
    }

    /// The features as an array (tests, small uses).
    public static func features(_ d: SIMD3<Float>) -> [Float] {
        var out = [Float](repeating: 0, count: dimension)
        out.withUnsafeMutableBufferPointer { encode(d.x, d.y, d.z, into: $0.baseAddress!) }
        return out
    }
}
