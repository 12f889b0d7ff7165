import Foundation

/// The reference texture-field MLP (see `ReferenceMLP`) as a training kernel: Float32, all
/// parameters in one flat buffer (so the optimiser is one loop), every product one BLAS GEMM
/// over the whole batch, bias and activation fused into one pass over memory the GEMM just
/// wrote, and no allocation per step (workspaces are sized once for the batch).
///
/// The two maps that read the network's input — the first hidden layer and the skip into the
/// 4th — are stacked into one 2h × d weight, so that the largest products of a step are one
/// GEMM of width 2h forward and one backward.
///
/// Layout of `parameters`: [W1; Ws] (2h × d, row-major: W1's rows, then Ws's), b1 (h), bs (h),
/// then for hidden layers 2…5 and the output: weight (out × in), bias.
public final class FieldMLP: @unchecked Sendable {
    public let inputs: Int
    public let width: Int
    public let batch: Int
    public var parameters: [Float]
    public var gradients: [Float]

    struct Map { let inputs, outputs, weight, bias: Int }
    let stackedWeight: Int, firstBias: Int, skipBias: Int
    let maps: [Map]  // hidden 2…5 (indices 0…3), output (4)
    // Workspaces, allocated once (batch × width unless noted).
    let zin: UnsafeMutablePointer<Float>    // batch × 2h: X [W1; Ws]ᵀ, later its gradient
    let act: [UnsafeMutablePointer<Float>]  // post-ReLU activations of the 5 hidden layers
    let out: UnsafeMutablePointer<Float>    // batch × 3, after the sigmoid
    let dAct: UnsafeMutablePointer<Float>, dZ: UnsafeMutablePointer<Float>, dOut: UnsafeMutablePointer<Float>
    let shardGradients: UnsafeMutablePointer<Float>  // the gradients of shards 1…, one parameter vector each
    /// When true, `lossAndGradients` also writes the gradient of the loss with respect to the
    /// input (rows × inputs) into `inputGradient` — what an encoder in front of the network needs.
    /// Off by default: it costs one more GEMM of the largest size.
    public var computesInputGradient = false {
        didSet { if computesInputGradient && inputGradient == nil { inputGradient = .allocate(capacity: batch * inputs) } }
    }
    public private(set) var inputGradient: UnsafeMutablePointer<Float>?

    /// - Parameters: inputs d, width h (128 in the reference), the batch the workspaces are for.
    ///   Weights from `initializer`, biases uniform in ±1/√in (PyTorch's default).
    public init<G: RandomNumberGenerator>(inputs d: Int, width h: Int = 128, batch: Int,
                                          initializer: Initializer = .xavierUniform, using rng: inout G) {
        inputs = d; width = h; self.batch = batch
        stackedWeight = 0
        firstBias = 2 * h * d
        skipBias = firstBias + h
        var maps = [Map](), offset = skipBias + h
        for (i, o) in [(h, h), (h, h), (h, h), (h, h), (h, 3)] {
            maps.append(Map(inputs: i, outputs: o, weight: offset, bias: offset + i * o))
            offset += i * o + o
        }
        self.maps = maps
        var params = [Float](repeating: 0, count: offset)
        func fill(weight: Int, bias: Int, inputs i: Int, outputs o: Int) {
            let w: [Float] = initializer.weights(inputs: i, outputs: o, using: &rng)
            params.replaceSubrange(weight..<(weight + w.count), with: w)
            let bound = 1 / Double(i).squareRoot()
            for j in 0..<o { params[bias + j] = Float(Double.random(in: -bound..<bound, using: &rng)) }
        }
        fill(weight: 0, bias: 2 * h * d, inputs: d, outputs: h)
        fill(weight: h * d, bias: 2 * h * d + h, inputs: d, outputs: h)
        for mp in maps { fill(weight: mp.weight, bias: mp.bias, inputs: mp.inputs, outputs: mp.outputs) }
        parameters = params
        gradients = [Float](repeating: 0, count: offset)
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: n)
            b.initialize(repeating: 0, count: n)
            return b
        }
        zin = buffer(batch * 2 * h)
        act = (0..<5).map { _ in buffer(batch * h) }
        out = buffer(batch * 3)
        dAct = buffer(batch * h)
        dZ = buffer(batch * h)
        dOut = buffer(batch * 3)
        shardGradients = buffer(max(0, BLASThreads.workBlocks - 1) * offset)
    }

    deinit {
        zin.deallocate()
        for a in act { a.deallocate() }
        out.deallocate(); dAct.deallocate(); dZ.deallocate(); dOut.deallocate(); shardGradients.deallocate()
        inputGradient?.deallocate()
    }

    public var parameterCount: Int { parameters.count }

    /// Forward pass on `x` (rows × inputs, row-major, rows <= batch); returns the colours
    /// (rows × 3) in a buffer owned by the network, valid until the next call.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, rows: Int) -> UnsafeBufferPointer<Float> {
        precondition(rows <= batch, "batch larger than the workspace")
        nonisolated(unsafe) let xp = x
        parameters.withUnsafeBufferPointer { pb in
            nonisolated(unsafe) let p = pb.baseAddress!
            BLASThreads.blocks(rows: rows) { r0, r1, _ in self.forwardRows(xp, p, r0, r1) }
        }
        return UnsafeBufferPointer(start: out, count: rows * 3)
    }

    /// The colours of the last forward pass (rows × 3).
    public func outputs(rows: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: out, count: rows * 3) }

    /// Forward and backward of the mean L1 loss against `target` (rows × 3); gradients are
    /// overwritten (not accumulated). Returns the loss.
    ///
    /// The batch is cut into `BLASThreads.workBlocks` blocks of rows (more than cores, handed out
    /// as cores become free, so a core slowed by another process does not hold up the step); each
    /// block runs the whole network with single-threaded GEMMs (the activations stay in the
    /// core's cache between a product and the pass that follows it), and the blocks' gradients
    /// are added at the end in a fixed order (the same on any machine).
    public func lossAndGradients(_ x: UnsafePointer<Float>, target: UnsafePointer<Float>, rows: Int) -> Float {
        precondition(rows <= batch, "batch larger than the workspace")
        nonisolated(unsafe) let (xp, tp) = (x, target)
        let count = parameters.count
        let shardLosses = UnsafeMutablePointer<Double>.allocate(capacity: BLASThreads.workBlocks)
        defer { shardLosses.deallocate() }
        nonisolated(unsafe) let losses = shardLosses
        parameters.withUnsafeBufferPointer { pb in
            gradients.withUnsafeMutableBufferPointer { gb in
                nonisolated(unsafe) let (p, g) = (pb.baseAddress!, gb.baseAddress!)
                let used = BLASThreads.blocks(rows: rows) { r0, r1, shard in
                    let gs = shard == 0 ? g : self.shardGradients + (shard - 1) * count
                    self.forwardRows(xp, p, r0, r1)
                    losses[shard] = self.backwardRows(xp, tp, p, gs, r0, r1, total: rows)
                }
                if used > 1 {  // add the other shards' gradients, in shard order, split over the cores
                    nonisolated(unsafe) let extra = self.shardGradients
                    BLASThreads.blocks(rows: count) { i0, i1, _ in
                        for s in 1..<used {
                            let src = extra + (s - 1) * count
                            for i in i0..<i1 { g[i] += src[i] }
                        }
                    }
                }
                var total = 0.0
                for s in 0..<used { total += losses[s] }
                losses[0] = total
            }
        }
        return Float(shardLosses[0] / Double(rows * 3))
    }

    /// Rows r0..<r1 through the network, single-threaded: fills zin, act and out for those rows.
    private func forwardRows(_ x: UnsafePointer<Float>, _ p: UnsafePointer<Float>, _ r0: Int, _ r1: Int) {
        let h = width, d = inputs, n = r1 - r0
        guard n > 0 else { return }
        let xs = x + r0 * d, zs = zin + r0 * 2 * h
        // [Z1 | S] = X [W1; Ws]ᵀ
        Float.gemm(transA: false, transB: true, m: n, n: 2 * h, k: d, alpha: 1, a: xs, lda: d,
                   b: p + stackedWeight, ldb: d, beta: 0, c: zs, ldc: 2 * h)
        let a0 = act[0] + r0 * h
        for r in 0..<n { Kernels.biasReLU(zs + r * 2 * h, p + firstBias, into: a0 + r * h, count: h) }
        for l in 1..<5 {
            let mp = maps[l - 1], a = act[l] + r0 * h
            Float.gemm(transA: false, transB: true, m: n, n: h, k: h, alpha: 1, a: act[l - 1] + r0 * h, lda: h,
                       b: p + mp.weight, ldb: h, beta: 0, c: a, ldc: h)
            if l == 3 {  // the input again, through the skip map
                for r in 0..<n {
                    Kernels.biasReLU(a + r * h, p + mp.bias, plus: zs + r * 2 * h + h, p + skipBias, into: a + r * h, count: h)
                }
            } else {
                for r in 0..<n { Kernels.biasReLU(a + r * h, p + mp.bias, into: a + r * h, count: h) }
            }
        }
        let mo = maps[4], o = out + r0 * 3
        Float.gemm(transA: false, transB: true, m: n, n: 3, k: h, alpha: 1, a: act[4] + r0 * h, lda: h,
                   b: p + mo.weight, ldb: h, beta: 0, c: o, ldc: 3)
        for i in 0..<(n * 3) { o[i] = 1 / (1 + Float.exponential(-(o[i] + p[mo.bias + i % 3]))) }
    }

    /// Backward of the L1 loss (mean over `total` rows × 3) for rows r0..<r1 into `g`; returns
    /// the rows' summed absolute error.
    private func backwardRows(_ x: UnsafePointer<Float>, _ target: UnsafePointer<Float>, _ p: UnsafePointer<Float>,
                              _ g: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int, total: Int) -> Double {
        let h = width, d = inputs, n = r1 - r0
        guard n > 0 else {
            g.update(repeating: 0, count: parameters.count)
            return 0
        }
        var loss: Double = 0
        let scale = 1 / Float(total * 3)
        let o = out + r0 * 3, t = target + r0 * 3, dO = dOut + r0 * 3
        for i in 0..<(n * 3) {  // d loss / d (pre-sigmoid output)
            let diff = o[i] - t[i]
            loss += Double(abs(diff))
            let s: Float = diff > 0 ? 1 : (diff < 0 ? -1 : 0)
            dO[i] = s * scale * o[i] * (1 - o[i])
        }
        let mo = maps[4], dA = dAct + r0 * h, zs = zin + r0 * 2 * h
        Float.gemm(transA: true, transB: false, m: 3, n: h, k: n, alpha: 1, a: dO, lda: 3,
                   b: act[4] + r0 * h, ldb: h, beta: 0, c: g + mo.weight, ldc: h)
        Kernels.columnSums(dO, rows: n, width: 3, stride: 3, into: g + mo.bias)
        Float.gemm(transA: false, transB: false, m: n, n: h, k: 3, alpha: 1, a: dO, lda: 3,
                   b: p + mo.weight, ldb: h, beta: 0, c: dA, ldc: h)
        for l in stride(from: 4, through: 1, by: -1) {
            let mp = maps[l - 1], a = act[l] + r0 * h
            // dZ = dAct ⊙ [act > 0]; for the 4th layer it is also the skip's gradient.
            let dz = l == 3 ? zs + h : dZ + r0 * h
            let ld = l == 3 ? 2 * h : h
            for r in 0..<n { Kernels.reluMask(dA + r * h, where: a + r * h, into: dz + r * ld, count: h) }
            Float.gemm(transA: true, transB: false, m: h, n: h, k: n, alpha: 1, a: dz, lda: ld,
                       b: act[l - 1] + r0 * h, ldb: h, beta: 0, c: g + mp.weight, ldc: h)
            Kernels.columnSums(dz, rows: n, width: h, stride: ld, into: g + mp.bias)
            if l == 3 { Kernels.columnSums(dz, rows: n, width: h, stride: ld, into: g + skipBias) }
            Float.gemm(transA: false, transB: false, m: n, n: h, k: h, alpha: 1, a: dz, lda: ld,
                       b: p + mp.weight, ldb: h, beta: 0, c: dA, ldc: h)
        }
        // First layer: its dZ goes into the left half of zin, beside the skip's.
        let a0 = act[0] + r0 * h
        for r in 0..<n { Kernels.reluMask(dA + r * h, where: a0 + r * h, into: zs + r * 2 * h, count: h) }
        Kernels.columnSums(zs, rows: n, width: h, stride: 2 * h, into: g + firstBias)
        if computesInputGradient, let dx = inputGradient {  // dX = [dZ1 | dZ4] [W1; Ws]
            Float.gemm(transA: false, transB: false, m: n, n: d, k: 2 * h, alpha: 1, a: zs, lda: 2 * h,
                       b: p + stackedWeight, ldb: d, beta: 0, c: dx + r0 * d, ldc: d)
        }
        // [dW1; dWs] = [dZ1 | dZ4]ᵀ X: no gradient with respect to the input itself.
        Float.gemm(transA: true, transB: false, m: 2 * h, n: d, k: n, alpha: 1, a: zs, lda: 2 * h,
                   b: x + r0 * d, ldb: d, beta: 0, c: g + stackedWeight, ldc: d)
        return loss
    }
}
