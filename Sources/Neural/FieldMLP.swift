import Dispatch

/// The reference texture-field MLP (see `ReferenceMLP`) as a training kernel: Float32, all
/// parameters in one flat buffer (so the optimiser is one loop), every product one BLAS GEMM
/// over the whole batch, bias and activation fused into one pass over memory already written
/// by the GEMM, and no allocation per step (workspaces are sized once for the batch).
///
/// Layout of `parameters`: for each of the 7 linear maps in the order hidden 1…5, skip,
/// output: the weight (out × in, row-major), then the bias.
public final class FieldMLP: @unchecked Sendable {
    public let inputs: Int
    public let width: Int
    public let batch: Int
    public var parameters: [Float]
    public var gradients: [Float]

    struct Map { let inputs, outputs, weight, bias: Int }
    let maps: [Map]  // 0...4 hidden, 5 skip, 6 output
    // Workspaces, allocated once (batch × width unless noted).
    let act: [UnsafeMutablePointer<Float>]  // post-ReLU activations of the 5 hidden layers
    let out: UnsafeMutablePointer<Float>    // batch × 3, after the sigmoid
    let dAct: UnsafeMutablePointer<Float>, dZ: UnsafeMutablePointer<Float>, dOut: UnsafeMutablePointer<Float>

    /// - Parameters: inputs d, width h (128 in the reference), the batch the workspaces are for.
    public init<G: RandomNumberGenerator>(inputs d: Int, width h: Int = 128, batch: Int,
                                          initializer: Initializer = .xavierUniform, using rng: inout G) {
        inputs = d; width = h; self.batch = batch
        var maps = [Map](), offset = 0
        for (i, o) in [(d, h), (h, h), (h, h), (h, h), (h, h), (d, h), (h, 3)] {
            maps.append(Map(inputs: i, outputs: o, weight: offset, bias: offset + i * o))
            offset += i * o + o
        }
        self.maps = maps
        parameters = [Float](repeating: 0, count: offset)
        gradients = parameters
        for mp in maps {
            let w: [Float] = initializer.weights(inputs: mp.inputs, outputs: mp.outputs, using: &rng)
            parameters.replaceSubrange(mp.weight..<(mp.weight + w.count), with: w)
            let bound = 1 / Double(mp.inputs).squareRoot()  // PyTorch's default bias
            for j in 0..<mp.outputs { parameters[mp.bias + j] = Float(Double.random(in: -bound..<bound, using: &rng)) }
        }
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = UnsafeMutablePointer<Float>.allocate(capacity: n)
            b.initialize(repeating: 0, count: n)
            return b
        }
        act = (0..<5).map { _ in buffer(batch * h) }
        out = buffer(batch * 3)
        dAct = buffer(batch * h)
        dZ = buffer(batch * h)
        dOut = buffer(batch * 3)
    }

    deinit {
        for a in act { a.deallocate() }
        out.deallocate(); dAct.deallocate(); dZ.deallocate(); dOut.deallocate()
    }

    public var parameterCount: Int { parameters.count }

    /// Forward pass on `x` (rows × inputs, row-major, rows <= batch); returns the colours
    /// (rows × 3) in a buffer owned by the network.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, rows: Int) -> UnsafeBufferPointer<Float> {
        precondition(rows <= batch, "batch larger than the workspace")
        parameters.withUnsafeBufferPointer { p in
            for l in 0..<5 {
                let mp = maps[l]
                let src: UnsafePointer<Float> = l == 0 ? x : UnsafePointer(act[l - 1])
                do {
                    let a = act[l]
                    fillBias(a, rows: rows, bias: p.baseAddress! + mp.bias, width: mp.outputs)
                    Float.gemm(transA: false, transB: true, m: rows, n: mp.outputs, k: mp.inputs, alpha: 1,
                               a: src, lda: mp.inputs, b: p.baseAddress! + mp.weight, ldb: mp.inputs,
                               beta: 1, c: a, ldc: mp.outputs)
                    if l == 3 {  // the input again, through the skip map
                        let sk = maps[5]
                        addBias(a, rows: rows, bias: p.baseAddress! + sk.bias, width: sk.outputs)
                        Float.gemm(transA: false, transB: true, m: rows, n: sk.outputs, k: sk.inputs, alpha: 1,
                                   a: x, lda: sk.inputs, b: p.baseAddress! + sk.weight, ldb: sk.inputs,
                                   beta: 1, c: a, ldc: sk.outputs)
                    }
                    for i in 0..<(rows * mp.outputs) where a[i] < 0 { a[i] = 0 }
                }
            }
            let mo = maps[6]
            let o = out
            fillBias(o, rows: rows, bias: p.baseAddress! + mo.bias, width: 3)
            Float.gemm(transA: false, transB: true, m: rows, n: 3, k: mo.inputs, alpha: 1, a: act[4],
                       lda: mo.inputs, b: p.baseAddress! + mo.weight, ldb: mo.inputs, beta: 1, c: o, ldc: 3)
            for i in 0..<(rows * 3) { o[i] = 1 / (1 + Float.exponential(-o[i])) }
        }
        return UnsafeBufferPointer(start: out, count: rows * 3)
    }

    /// Forward and backward of the mean L1 loss against `target` (rows × 3); gradients are
    /// overwritten (not accumulated). Returns the loss.
    public func lossAndGradients(_ x: UnsafePointer<Float>, target: UnsafePointer<Float>, rows: Int) -> Float {
        forward(x, rows: rows)
        let h = width
        var loss: Double = 0
        let scale = 1 / Float(rows * 3)
        // d loss / d (pre-sigmoid output).
        do {
            let o = out, d = dOut
            for i in 0..<(rows * 3) {
                let diff = o[i] - target[i]
                loss += Double(abs(diff))
                let s: Float = diff > 0 ? 1 : (diff < 0 ? -1 : 0)
                d[i] = s * scale * o[i] * (1 - o[i])
            }
        }
        parameters.withUnsafeBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in
                // Output map.
                let mo = maps[6]
                Float.gemm(transA: true, transB: false, m: 3, n: mo.inputs, k: rows, alpha: 1, a: dOut,
                           lda: 3, b: act[4], ldb: h, beta: 0, c: g.baseAddress! + mo.weight, ldc: mo.inputs)
                columnSums(dOut, rows: rows, width: 3, into: g.baseAddress! + mo.bias)
                Float.gemm(transA: false, transB: false, m: rows, n: h, k: 3, alpha: 1, a: dOut, lda: 3,
                           b: p.baseAddress! + mo.weight, ldb: h, beta: 0, c: dAct, ldc: h)
                for l in stride(from: 4, through: 0, by: -1) {
                    let mp = maps[l]
                    // dZ = dAct ⊙ [act > 0]
                    do {
                        let a = act[l], da = dAct, dz = dZ
                        for i in 0..<(rows * h) { dz[i] = a[i] > 0 ? da[i] : 0 }
                    }
                    do {
                        let dz = UnsafePointer(dZ)
                        let src: UnsafePointer<Float> = l == 0 ? x : UnsafePointer(act[l - 1])
                        Float.gemm(transA: true, transB: false, m: mp.outputs, n: mp.inputs, k: rows, alpha: 1,
                                   a: dz, lda: h, b: src, ldb: mp.inputs, beta: 0,
                                   c: g.baseAddress! + mp.weight, ldc: mp.inputs)
                        columnSums(dz, rows: rows, width: h, into: g.baseAddress! + mp.bias)
                        if l == 3 {
                            let sk = maps[5]
                            Float.gemm(transA: true, transB: false, m: sk.outputs, n: sk.inputs, k: rows, alpha: 1,
                                       a: dz, lda: h, b: x, ldb: sk.inputs, beta: 0,
                                       c: g.baseAddress! + sk.weight, ldc: sk.inputs)
                            columnSums(dz, rows: rows, width: h, into: g.baseAddress! + sk.bias)
                        }
                        if l > 0 {  // no gradient with respect to the network's input
                            Float.gemm(transA: false, transB: false, m: rows, n: h, k: h, alpha: 1, a: dz,
                                       lda: h, b: p.baseAddress! + mp.weight, ldb: h, beta: 0, c: dAct, ldc: h)
                        }
                    }
                }
            }
        }
        return Float(loss / Double(rows * 3))
    }

    // Rows of c set to the bias / the bias added.
    private func fillBias(_ c: UnsafeMutablePointer<Float>, rows: Int, bias: UnsafePointer<Float>, width: Int) {
        for r in 0..<rows { (c + r * width).update(from: bias, count: width) }
    }
    private func addBias(_ c: UnsafeMutablePointer<Float>, rows: Int, bias: UnsafePointer<Float>, width: Int) {
        for r in 0..<rows { for j in 0..<width { c[r * width + j] += bias[j] } }
    }
    private func columnSums(_ a: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<width { out[j] = 0 }
        for r in 0..<rows { for j in 0..<width { out[j] += a[r * width + j] } }
    }
}
