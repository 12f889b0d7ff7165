import Dispatch

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
    }

    deinit {
        zin.deallocate()
        for a in act { a.deallocate() }
        out.deallocate(); dAct.deallocate(); dZ.deallocate(); dOut.deallocate()
    }

    public var parameterCount: Int { parameters.count }

    /// Forward pass on `x` (rows × inputs, row-major, rows <= batch); returns the colours
    /// (rows × 3) in a buffer owned by the network, valid until the next call.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, rows: Int) -> UnsafeBufferPointer<Float> {
        precondition(rows <= batch, "batch larger than the workspace")
        let h = width, d = inputs
        parameters.withUnsafeBufferPointer { pb in
            let p = pb.baseAddress!
            // [Z1 | S] = X [W1; Ws]ᵀ
            Float.gemm(transA: false, transB: true, m: rows, n: 2 * h, k: d, alpha: 1, a: x, lda: d,
                       b: p + stackedWeight, ldb: d, beta: 0, c: zin, ldc: 2 * h)
            nonisolated(unsafe) let (zp, a0, pp) = (zin, act[0], p)
            let fb = firstBias, sb = skipBias
            rowHalves(rows) { r0, r1 in
                for r in r0..<r1 {
                    let z = zp + r * 2 * h, a = a0 + r * h
                    for c in 0..<h { a[c] = max(0, z[c] + pp[fb + c]) }
                }
            }
            for l in 1..<5 {
                let mp = maps[l - 1], a = act[l]
                Float.gemm(transA: false, transB: true, m: rows, n: h, k: h, alpha: 1, a: act[l - 1], lda: h,
                           b: p + mp.weight, ldb: h, beta: 0, c: a, ldc: h)
                nonisolated(unsafe) let ap = a
                let bias = mp.bias
                if l == 3 {  // the input again, through the skip map
                    rowHalves(rows) { r0, r1 in
                        for r in r0..<r1 {
                            let row = ap + r * h, s = zp + r * 2 * h + h
                            for c in 0..<h { row[c] = max(0, row[c] + pp[bias + c] + s[c] + pp[sb + c]) }
                        }
                    }
                } else {
                    rowHalves(rows) { r0, r1 in
                        for r in r0..<r1 {
                            let row = ap + r * h
                            for c in 0..<h { row[c] = max(0, row[c] + pp[bias + c]) }
                        }
                    }
                }
            }
            let mo = maps[4]
            Float.gemm(transA: false, transB: true, m: rows, n: 3, k: h, alpha: 1, a: act[4], lda: h,
                       b: p + mo.weight, ldb: h, beta: 0, c: out, ldc: 3)
            for r in 0..<rows {
                for c in 0..<3 { out[r * 3 + c] = 1 / (1 + Float.exponential(-(out[r * 3 + c] + p[mo.bias + c]))) }
            }
        }
        return UnsafeBufferPointer(start: out, count: rows * 3)
    }

    /// Forward and backward of the mean L1 loss against `target` (rows × 3); gradients are
    /// overwritten (not accumulated). Returns the loss.
    public func lossAndGradients(_ x: UnsafePointer<Float>, target: UnsafePointer<Float>, rows: Int) -> Float {
        forward(x, rows: rows)
        let h = width, d = inputs
        var loss: Double = 0
        let scale = 1 / Float(rows * 3)
        for i in 0..<(rows * 3) {  // d loss / d (pre-sigmoid output)
            let diff = out[i] - target[i]
            loss += Double(abs(diff))
            let s: Float = diff > 0 ? 1 : (diff < 0 ? -1 : 0)
            dOut[i] = s * scale * out[i] * (1 - out[i])
        }
        parameters.withUnsafeBufferPointer { pb in
            gradients.withUnsafeMutableBufferPointer { gb in
                let p = pb.baseAddress!, g = gb.baseAddress!
                let mo = maps[4]
                Float.gemm(transA: true, transB: false, m: 3, n: h, k: rows, alpha: 1, a: dOut, lda: 3,
                           b: act[4], ldb: h, beta: 0, c: g + mo.weight, ldc: h)
                columnSums(dOut, rows: rows, width: 3, stride: 3, into: g + mo.bias)
                Float.gemm(transA: false, transB: false, m: rows, n: h, k: 3, alpha: 1, a: dOut, lda: 3,
                           b: p + mo.weight, ldb: h, beta: 0, c: dAct, ldc: h)
                for l in stride(from: 4, through: 1, by: -1) {
                    let mp = maps[l - 1], a = act[l]
                    // dZ = dAct ⊙ [act > 0]; for the 4th layer it is also the skip's gradient.
                    let dz = l == 3 ? zin + h : dZ
                    let ld = l == 3 ? 2 * h : h
                    nonisolated(unsafe) let (ap, dap, dzp) = (a, dAct, dz)
                    rowHalves(rows) { r0, r1 in
                        for r in r0..<r1 {
                            let ar = ap + r * h, dar = dap + r * h, dzr = dzp + r * ld
                            for c in 0..<h { dzr[c] = ar[c] > 0 ? dar[c] : 0 }
                        }
                    }
                    Float.gemm(transA: true, transB: false, m: h, n: h, k: rows, alpha: 1, a: dz, lda: ld,
                               b: act[l - 1], ldb: h, beta: 0, c: g + mp.weight, ldc: h)
                    columnSums(dz, rows: rows, width: h, stride: ld, into: g + mp.bias)
                    if l == 3 { columnSums(dz, rows: rows, width: h, stride: ld, into: g + skipBias) }
                    Float.gemm(transA: false, transB: false, m: rows, n: h, k: h, alpha: 1, a: dz, lda: ld,
                               b: p + mp.weight, ldb: h, beta: 0, c: dAct, ldc: h)
                }
                // First layer: its dZ goes into the left half of zin, beside the skip's.
                nonisolated(unsafe) let (a0, dap, zp) = (act[0], dAct, zin)
                rowHalves(rows) { r0, r1 in
                    for r in r0..<r1 {
                        let ar = a0 + r * h, dar = dap + r * h, dzr = zp + r * 2 * h
                        for c in 0..<h { dzr[c] = ar[c] > 0 ? dar[c] : 0 }
                    }
                }
                columnSums(zin, rows: rows, width: h, stride: 2 * h, into: g + firstBias)
                // [dW1; dWs] = [dZ1 | dZ4]ᵀ X: no gradient with respect to the input itself.
                Float.gemm(transA: true, transB: false, m: 2 * h, n: d, k: rows, alpha: 1, a: zin, lda: 2 * h,
                           b: x, ldb: d, beta: 0, c: g + stackedWeight, ldc: d)
            }
        }
        return Float(loss / Double(rows * 3))
    }

    /// Column sums over two fixed halves of the rows (one per core), added in a fixed order.
    private func columnSums(_ a: UnsafePointer<Float>, rows: Int, width: Int, stride: Int,
                            into out: UnsafeMutablePointer<Float>) {
        let half = UnsafeMutablePointer<Float>.allocate(capacity: 2 * width)
        defer { half.deallocate() }
        nonisolated(unsafe) let (src, dst) = (a, half)
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            let r0 = t * rows / 2, r1 = (t + 1) * rows / 2
            let o = dst + t * width
            for j in 0..<width { o[j] = 0 }
            for r in r0..<r1 {
                let row = src + r * stride
                for j in 0..<width { o[j] += row[j] }
            }
        }
        for j in 0..<width { out[j] = half[j] + half[width + j] }
    }

    /// Runs `body(r0, r1)` on two halves of the rows, one per core.
    private func rowHalves(_ rows: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
        DispatchQueue.concurrentPerform(iterations: 2) { t in body(t * rows / 2, (t + 1) * rows / 2) }
    }
}
