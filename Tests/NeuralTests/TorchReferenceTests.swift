import Foundation
import Neural
import Testing

/// Golden values from PyTorch 2.15 (CPU), written by scripts/reference/torch_optimizers.py into
/// Fixtures/torch_reference.json.
struct TorchReference: Decodable {
    struct Optimizer: Decodable {
        let kind: String
        let hyper: [String: Double]
        let params: [[Float]]
        let state: [String: [Float]]
    }
    struct Layer: Decodable {
        let y: [Double]
        let dx: [Double]
        let weight: [Double]?, bias: [Double]?, dweight: [Double]?, dbias: [Double]?
        let running_mean: [Double]?, running_var: [Double]?
    }
    let n: Int
    let p0: [Float]
    let grads: [[Float]]
    let optimizers: [Optimizer]
    let layers: [String: LayerOrArray]

    enum LayerOrArray: Decodable {
        case layer(Layer), array([Double])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let a = try? c.decode([Double].self) { self = .array(a) } else { self = .layer(try c.decode(Layer.self)) }
        }
    }
    func layer(_ name: String) -> Layer { if case .layer(let l) = layers[name]! { return l }; fatalError(name) }
    func array(_ name: String) -> [Double] { if case .array(let a) = layers[name]! { return a }; fatalError(name) }

    static func load() throws -> TorchReference {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/torch_reference.json")
        return try JSONDecoder().decode(TorchReference.self, from: Data(contentsOf: url))
    }
}

/// Distance in units in the last place between two floats of the same sign.
func ulps(_ a: Float, _ b: Float) -> Int {
    a == b ? 0 : (a.sign != b.sign ? Int.max : abs(Int(a.bitPattern) - Int(b.bitPattern)))
}

@Suite struct TorchReferenceTests {
    /// Adam, Adam with L2 and AdamW: the moments agree with PyTorch to the bit; the parameters to
    /// within 2 ulps (PyTorch's vectorised square root is not correctly rounded; ours is) and
    /// nearly all to the bit.
    @Test func adamAgreesWithPyTorch() throws {
        let ref = try TorchReference.load()
        for case let o in ref.optimizers where o.kind.hasPrefix("adam") {
            var adam = Adam(parameterCount: ref.n, learningRate: o.hyper["lr"]!, decoupled: o.kind == "adamw",
                            weightDecay: o.hyper["weight_decay"] ?? 0)
            var slow = adam
            var p = ref.p0, q = ref.p0
            var exact = 0, worst = 0
            for (t, g) in ref.grads.enumerated() {
                adam.update(&p, gradients: g)
                slow.referenceUpdate(&q, gradients: g)
                #expect(p == q, "fast and reference Adam differ")
                for i in 0..<ref.n {
                    let u = ulps(p[i], o.params[t][i])
                    worst = max(worst, u); if u == 0 { exact += 1 }
                }
            }
            #expect(adam.m == o.state["exp_avg"]!, "\(o.kind) \(o.hyper): exp_avg")
            #expect(adam.v == o.state["exp_avg_sq"]!, "\(o.kind) \(o.hyper): exp_avg_sq")
            #expect(worst <= 2, "\(o.kind) \(o.hyper): parameters up to \(worst) ulps from PyTorch")
            #expect(exact >= ref.n * ref.grads.count * 9 / 10, "\(o.kind): only \(exact) parameters bit-equal")
        }
    }

    /// SGD (plain, Nesterov with weight decay, momentum with dampening): identical to the bit.
    @Test func sgdAgreesWithPyTorchToTheBit() throws {
        let ref = try TorchReference.load()
        for o in ref.optimizers where o.kind == "sgd" {
            var sgd = SGD(learningRate: o.hyper["lr"]!, momentum: o.hyper["momentum"] ?? 0,
                          nesterov: (o.hyper["nesterov"] ?? 0) != 0, weightDecay: o.hyper["weight_decay"] ?? 0)
            sgd.dampening = o.hyper["dampening"] ?? 0
            var p = ref.p0
            for (t, g) in ref.grads.enumerated() {
                sgd.update(&p, gradients: g)
                #expect(p == o.params[t], "\(o.hyper) step \(t + 1)")
            }
            if let b = o.state["momentum_buffer"] { #expect(sgd.buffer! == b) }
        }
    }

    /// Linear, BatchNorm (training), activations in Double against torch.float64.
    @Test func layersAgreeWithPyTorch() throws {
        let ref = try TorchReference.load()
        func close(_ a: [Double], _ b: [Double], _ what: String) {
            #expect(a.count == b.count, "\(what): sizes")
            let scale = max(1, b.map { abs($0) }.max() ?? 1)
            let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(err <= 1e-12 * scale, "\(what): max difference \(err)")
        }
        let x = Matrix(rows: 4, columns: 6, values: ref.array("x"))
        let dy = Matrix(rows: 4, columns: 5, values: ref.array("dy"))
        let l = ref.layer("linear")
        var rng = SystemRandomNumberGenerator()
        var lin = Linear<Double>(inputs: 6, outputs: 5, using: &rng)
        lin.weight.values = l.weight!; lin.bias = l.bias!
        close(lin.forward(x).values, l.y, "linear y")
        close(lin.backward(dy).values, l.dx, "linear dx")
        close(lin.weightGradient.values, l.dweight!, "linear dW"); close(lin.biasGradient!, l.dbias!, "linear db")

        let x5 = Matrix(rows: 4, columns: 5, values: ref.array("x5"))

        let bn = ref.layer("batchnorm")
        var batch = BatchNorm<Double>(features: 5)
        batch.gamma = bn.weight!; batch.beta = bn.bias!
        close(batch.forward(x5).values, bn.y, "batchnorm y")
        close(batch.backward(dy).values, bn.dx, "batchnorm dx")
        close(batch.gammaGradient, bn.dweight!, "batchnorm dγ"); close(batch.betaGradient, bn.dbias!, "batchnorm dβ")
        close(batch.runningMean, bn.running_mean!, "batchnorm running mean")
        close(batch.runningVariance, bn.running_var!, "batchnorm running var")

        for (name, kind) in [("silu", Activation<Double>.Kind.silu), ("sigmoid", .sigmoid), ("tanh", .tanh),
                             ("leaky_relu_0.1", .leakyRelu(slope: 0.1))] {
            var a = Activation<Double>(kind)
            let r = ref.layer(name)
            close(a.forward(x5).values, r.y, "\(name) y")
            close(a.backward(dy).values, r.dx, "\(name) dx")
        }
    }
}

/// The vectorised passes of the training kernel against their scalar definitions, on widths that
/// are not multiples of the vector length, with NaN passing through the ReLU.
@Suite struct KernelTests {
    @Test func passesMatchTheirScalarDefinitions() {
        var rng = SystemRandomNumberGenerator()
        for width in [1, 7, 8, 13, 128] {
            let z = (0..<width).map { _ in Float.random(in: -1...1, using: &rng) }
            let b = (0..<width).map { _ in Float.random(in: -1...1, using: &rng) }
            let s = (0..<width).map { _ in Float.random(in: -1...1, using: &rng) }
            let sb = (0..<width).map { _ in Float.random(in: -1...1, using: &rng) }
            var out = [Float](repeating: 0, count: width)
            Kernels.biasReLU(z, b, into: &out, count: width)
            #expect(out == (0..<width).map { max(0, z[$0] + b[$0]) })
            Kernels.biasReLU(z, b, plus: s, sb, into: &out, count: width)
            let expected: [Float] = (0..<width).map { (j: Int) -> Float in
                let v: Float = z[j] + b[j] + s[j] + sb[j]
                return max(0, v)
            }
            #expect(out == expected)
            Kernels.reluMask(s, where: z, into: &out, count: width)
            #expect(out == (0..<width).map { z[$0] > 0 ? s[$0] : 0 })
            let rows = 5
            let a = (0..<(rows * (width + 3))).map { _ in Float.random(in: -1...1, using: &rng) }
            Kernels.columnSums(a, rows: rows, width: width, stride: width + 3, into: &out)
            for j in 0..<width {
                var t: Float = 0
                for r in 0..<rows { t += a[r * (width + 3) + j] }
                #expect(out[j] == t)
            }
        }
        var nan: [Float] = [.nan, -1, 2, .nan, 0, 0, 0, 0, .nan]
        Kernels.biasReLU(nan, [Float](repeating: 0, count: 9), into: &nan, count: 9)
        #expect(nan[0].isNaN && nan[3].isNaN && nan[8].isNaN && nan[1] == 0 && nan[2] == 2)
    }
}
