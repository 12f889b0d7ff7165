import CBLASControl
import COpenBLAS
import Dispatch
import Foundation

/// Data-parallel work over blocks of rows, one block per core, each block's BLAS calls
/// single-threaded. On two cores this beats letting OpenBLAS split every product: the small
/// products of a network step stop paying for a thread hand-off, the passes between products
/// read memory the same core just wrote, and no core spins idle waiting for the other.
public enum BLASThreads {
    /// Most blocks a call is cut into (the cores available, at most 8).
    public static let maximumShards = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// Runs `body(r0, r1, shard)` over up to `maximumShards` contiguous blocks of `rows`, in
    /// parallel, with OpenBLAS limited to one thread meanwhile (restored afterwards). Returns the
    /// number of blocks used; block s covers rows s·rows/used ..< (s+1)·rows/used.
    @discardableResult
    public static func shards(rows: Int, _ body: @escaping @Sendable (Int, Int, Int) -> Void) -> Int {
        let used = max(1, min(maximumShards, rows))
        if used == 1 {
            body(0, rows, 0)
            return 1
        }
        enterSingleThreaded()
        DispatchQueue.concurrentPerform(iterations: used) { s in body(s * rows / used, (s + 1) * rows / used, s) }
        leaveSingleThreaded()
        return used
    }
}

extension BLASThreads {
    /// Blocks a network step is cut into: a constant, independent of the machine's cores, so
    /// that the summation order (and so every bit of the result) is the same on any machine, and
    /// more blocks than cores, so that a core slowed by another process takes fewer blocks
    /// instead of holding up the step (the blocks are handed out dynamically).
    public static let workBlocks = 8

    /// Runs `body(r0, r1, block)` over `min(workBlocks, rows)` contiguous blocks of `rows`, handed
    /// out to the cores as they become free, with OpenBLAS limited to one thread meanwhile.
    /// Returns the number of blocks; block b covers rows b·rows/used ..< (b+1)·rows/used.
    /// `maximum` other than `workBlocks` must be a constant too (not the core count), for the same reason.
    @discardableResult
    public static func blocks(rows: Int, maximum: Int = workBlocks, _ body: @escaping @Sendable (Int, Int, Int) -> Void) -> Int {
        let used = max(1, min(maximum, rows))
        if used == 1 || maximumShards == 1 {
            for b in 0..<used { body(b * rows / used, (b + 1) * rows / used, b) }
            return used
        }
        enterSingleThreaded()
        DispatchQueue.concurrentPerform(iterations: used) { b in body(b * rows / used, (b + 1) * rows / used, b) }
        leaveSingleThreaded()
        return used
    }

    // OpenBLAS's thread count is global: overlapping single-threaded sections (several trainings in
    // one process) share one lowering of it, and the eigensolver waits for them (CKernels/blas_mode.c).

    /// Runs `body` with OpenBLAS limited to one thread (for work that is parallel at a coarser
    /// grain, or too small for threads to pay: the dynamics experiments' small networks).
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        enterSingleThreaded()
        defer { leaveSingleThreaded() }
        return try body()
    }

    /// OpenBLAS's kernel family on this machine (e.g. "Zen", "Haswell", "SkylakeX"; set
    /// `OPENBLAS_CORETYPE` to choose another): results are reproducible to the bit per family.
    public static var kernelFamily: String { String(cString: tfk_blas_core_name()) }

    static func enterSingleThreaded() { tfk_blas_single_begin() }
    static func leaveSingleThreaded() { tfk_blas_single_end() }
}

/// The elementwise passes of a network step, vectorised eight floats at a time. Each has the
/// obvious scalar meaning written beside it (and `KernelTests` checks them against it).
public enum Kernels {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// out[c] = max(0, z[c] + bias[c]) (NaN passes through); `out` may be `z`.
    @inline(__always)
    public static func biasReLU(_ z: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        var c = 0
        while c + 8 <= count {
            let v = load(z + c) + load(bias + c)
            store(v.replacing(with: 0, where: v .< 0), out + c)
            c += 8
        }
        while c < count { let v = z[c] + bias[c]; out[c] = v < 0 ? 0 : v; c += 1 }
    }

    /// out[c] = max(0, z[c] + bias[c] + s[c] + sBias[c]) (NaN passes through); `out` may be `z`.
    @inline(__always)
    public static func biasReLU(_ z: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, plus s: UnsafePointer<Float>,
                                _ sBias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        var c = 0
        while c + 8 <= count {
            let v = load(z + c) + load(bias + c) + load(s + c) + load(sBias + c)
            store(v.replacing(with: 0, where: v .< 0), out + c)
            c += 8
        }
        while c < count { let v = z[c] + bias[c] + s[c] + sBias[c]; out[c] = v < 0 ? 0 : v; c += 1 }
    }

    /// out[c] = a[c] > 0 ? d[c] : 0 (the gradient through a ReLU whose output was `a`).
    @inline(__always)
    public static func reluMask(_ d: UnsafePointer<Float>, where a: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        var c = 0
        while c + 8 <= count {
            store(load(d + c).replacing(with: 0, where: load(a + c) .<= 0), out + c)
            c += 8
        }
        while c < count { out[c] = a[c] > 0 ? d[c] : 0; c += 1 }
    }

    /// out[j] = Σ_r a[r·stride + j] for j < width (rows added in order).
    public static func columnSums(_ a: UnsafePointer<Float>, rows: Int, width: Int, stride: Int,
                                  into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: width)
        var j = 0
        while j + 8 <= width {
            var s = SIMD8<Float>.zero
            for r in 0..<rows { s += load(a + r * stride + j) }
            store(s, out + j)
            j += 8
        }
        while j < width {
            var s: Float = 0
            for r in 0..<rows { s += a[r * stride + j] }
            out[j] = s
            j += 1
        }
    }
}
