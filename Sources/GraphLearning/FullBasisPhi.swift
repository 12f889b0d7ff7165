import Foundation
import Neural

/// BasisNet's full φ on one eigenspace — IGN 2→2 (one input channel, the projector P; the 15
/// basis maps, normalised) → ReLU → IGN 2→1 (5 maps) — fused: the 15 maps are never formed as
/// n × n tensors; each output entry is w₀P_ij + w₁P_ji + A_i + B_j + c + δ_ij D_i from per-node
/// summaries. Same numbers as `IGNLayer(.twoToTwo)` → ReLU → `IGNLayer(.twoToOne)` (tested), at a
/// small fraction of the time. Weight layouts are those of `IGNLayer`.
public enum FullBasisPhi {
    /// Per-node summaries of an n × n matrix: row sums, column sums, diagonal; trace and total.
    static func summaries(_ x: UnsafePointer<Float>, n: Int) -> (row: [Float], col: [Float], diag: [Float], trace: Float, total: Float) {
        var row = [Float](repeating: 0, count: n), col = row, diag = row
        var tr: Float = 0, tot: Float = 0
        for i in 0..<n {
            var r: Float = 0
            for j in 0..<n { let v = x[i * n + j]; r += v; col[j] += v }
            row[i] = r; diag[i] = x[i * n + i]; tr += diag[i]; tot += r
        }
        return (row, col, diag, tr, tot)
    }

    /// The pre-activation of 2→2 channel o: Y_o (n × n) into `y`.
    static func layer1(_ p: UnsafePointer<Float>, n: Int, w: ArraySlice<Float>, bias: Float,
                       _ s: (row: [Float], col: [Float], diag: [Float], trace: Float, total: Float), into y: UnsafeMutablePointer<Float>) {
        let w = Array(w), inv = 1 / Float(n), inv2 = 1 / Float(n * n)
        var a = [Float](repeating: 0, count: n), b = a, d = a
        let c = bias + w[12] * s.trace * inv + w[14] * s.total * inv2
        for i in 0..<n {
            a[i] = w[3] * s.diag[i] + w[7] * s.row[i] * inv + w[9] * s.col[i] * inv
            b[i] = w[4] * s.diag[i] + w[8] * s.row[i] * inv + w[10] * s.col[i] * inv
            d[i] = w[2] * s.diag[i] + w[5] * s.row[i] * inv + w[6] * s.col[i] * inv + w[11] * s.trace * inv + w[13] * s.total * inv2
        }
        for i in 0..<n {
            for j in 0..<n { y[i * n + j] = w[0] * p[i * n + j] + w[1] * p[j * n + i] + a[i] + b[j] + c }
            y[i * n + i] += d[i]
        }
    }

    /// Output (q channels × n, channel-major) of φ on the projector p (n × n).
    public static func forward(_ p: [Float], n: Int, first: IGNLayer<Float>, second: IGNLayer<Float>) -> [Float] {
        let channels = first.outChannels, q = second.outChannels
        precondition(first.inChannels == 1 && second.inChannels == channels && p.count == n * n)
        var out = [Float](repeating: 0, count: q * n)
        for cc in 0..<q { for i in 0..<n { out[cc * n + i] = second.bias[cc] } }
        var y = [Float](repeating: 0, count: n * n)
        p.withUnsafeBufferPointer { pp in
            let s = summaries(pp.baseAddress!, n: n)
            for o in 0..<channels {
                y.withUnsafeMutableBufferPointer { layer1(pp.baseAddress!, n: n, w: first.weights[(o * 15)..<(o * 15 + 15)], bias: first.bias[o], s, into: $0.baseAddress!) }
                for i in y.indices where !(y[i] > 0) { y[i] = 0 }
                let z = y.withUnsafeBufferPointer { summaries($0.baseAddress!, n: n) }
                let inv = 1 / Float(n), inv2 = 1 / Float(n * n)
                for cc in 0..<q {
                    let w = (cc * channels + o) * 5
                    let w0 = second.weights[w], w1 = second.weights[w + 1] * inv, w2 = second.weights[w + 2] * inv
                    let k = second.weights[w + 3] * z.trace * inv + second.weights[w + 4] * z.total * inv2
                    for i in 0..<n { out[cc * n + i] += w0 * z.diag[i] + w1 * z.row[i] + w2 * z.col[i] + k }
                }
            }
        }
        return out
    }

    /// Accumulates both layers' weight and bias gradients for d loss / d output = dy (q × n,
    /// channel-major). The projector is data: no gradient with respect to it.
    public static func backward(_ p: [Float], n: Int, dy: [Float], first: inout IGNLayer<Float>, second: inout IGNLayer<Float>) {
        let channels = first.outChannels, q = second.outChannels
        let inv = 1 / Float(n), inv2 = 1 / Float(n * n)
        for cc in 0..<q { for i in 0..<n { second.biasGradient[cc] += dy[cc * n + i] } }
        var y = [Float](repeating: 0, count: n * n), dY = y
        p.withUnsafeBufferPointer { pp in
            let s = summaries(pp.baseAddress!, n: n)
            for o in 0..<channels {
                y.withUnsafeMutableBufferPointer { layer1(pp.baseAddress!, n: n, w: first.weights[(o * 15)..<(o * 15 + 15)], bias: first.bias[o], s, into: $0.baseAddress!) }
                let z = y.withUnsafeBufferPointer { yp -> (row: [Float], col: [Float], diag: [Float], trace: Float, total: Float) in
                    var zz = [Float](repeating: 0, count: n * n)
                    for i in 0..<(n * n) { zz[i] = yp[i] > 0 ? yp[i] : 0 }
                    return zz.withUnsafeBufferPointer { summaries($0.baseAddress!, n: n) }
                }
                // second layer: weight gradients, and g_t(i) = Σ_cc W[cc,o,t] dy_cc(i)
                var g = [[Float]](repeating: [Float](repeating: 0, count: n), count: 5)
                for cc in 0..<q {
                    let w = (cc * channels + o) * 5
                    var d0: Float = 0, d1: Float = 0, d2: Float = 0, dsum: Float = 0
                    for i in 0..<n {
                        let gy = dy[cc * n + i]
                        d0 += gy * z.diag[i]; d1 += gy * z.row[i]; d2 += gy * z.col[i]; dsum += gy
                        for t in 0..<5 { g[t][i] += second.weights[w + t] * gy }
                    }
                    second.weightGradient[w] += d0; second.weightGradient[w + 1] += d1 * inv; second.weightGradient[w + 2] += d2 * inv
                    second.weightGradient[w + 3] += dsum * z.trace * inv; second.weightGradient[w + 4] += dsum * z.total * inv2
                }
                let g3 = g[3].reduce(0, +) * inv, g4 = g[4].reduce(0, +) * inv2
                // dZ → dY through the ReLU
                for a in 0..<n {
                    for b in 0..<n {
                        var v = g[1][a] * inv + g[2][b] * inv + g4
                        if a == b { v += g[0][a] + g3 }
                        dY[a * n + b] = y[a * n + b] > 0 ? v : 0
                    }
                }
                // first layer: ⟨dY, op_k(P)⟩ for the 15 maps
                var d0: Float = 0, d1: Float = 0, d2: Float = 0
                var rowG = [Float](repeating: 0, count: n), colG = rowG
                var trG: Float = 0, totG: Float = 0
                for i in 0..<n {
                    for j in 0..<n {
                        let v = dY[i * n + j]
                        d0 += v * pp[i * n + j]; d1 += v * pp[j * n + i]
                        rowG[i] += v; colG[j] += v
                    }
                    d2 += dY[i * n + i] * s.diag[i]; trG += dY[i * n + i]
                }
                totG = rowG.reduce(0, +)
                var k3: Float = 0, k4: Float = 0, k5: Float = 0, k6: Float = 0, k7: Float = 0, k8: Float = 0, k9: Float = 0, k10: Float = 0
                for i in 0..<n {
                    k3 += rowG[i] * s.diag[i]; k4 += colG[i] * s.diag[i]
                    k5 += dY[i * n + i] * s.row[i]; k6 += dY[i * n + i] * s.col[i]
                    k7 += rowG[i] * s.row[i]; k8 += colG[i] * s.row[i]; k9 += rowG[i] * s.col[i]; k10 += colG[i] * s.col[i]
                }
                let grads: [Float] = [d0, d1, d2, k3, k4, k5 * inv, k6 * inv, k7 * inv, k8 * inv, k9 * inv, k10 * inv,
                                      trG * s.trace * inv, totG * s.trace * inv, trG * s.total * inv2, totG * s.total * inv2]
                for k in 0..<15 { first.weightGradient[o * 15 + k] += grads[k] }
                first.biasGradient[o] += totG
            }
        }
    }
}
