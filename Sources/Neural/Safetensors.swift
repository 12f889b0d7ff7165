import Support
import Foundation

/// A tensor as stored in a safetensors file.
public struct StoredTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Errors of checkpoint files; each names the file.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .invalid(let p, let r): return "\(p): not a valid safetensors file: \(r)"
        case .mismatch(let m): return m
        }
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}
/// padded with spaces to a multiple of 8, then the raw little-endian data. Written files load
/// with the Python `safetensors` package (`safetensors.numpy.load_file`). Tensors are F32.
public enum Safetensors {
    public static func encode(_ tensors: [String: StoredTensor], metadata: [String: String] = [:]) throws -> Data {
        var header = [String: Any]()
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            guard t.shape.reduce(1, *) == t.values.count else {
                throw CheckpointError.mismatch("tensor \(name): shape \(t.shape) holds \(t.shape.reduce(1, *)) values, got \(t.values.count)")
            }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        func fail(_ r: String) -> CheckpointError { .invalid(path: path, reason: r) }
        guard bytes.count >= 8 else { throw fail("shorter than its 8-byte header length") }
        var header64: UInt64 = 0
        for i in 0..<8 { header64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard header64 > 0, header64 <= UInt64(bytes.count - 8) else { throw fail("header length \(header64) exceeds the file (\(bytes.count) bytes)") }
        let n = Int(header64)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let base = 8 + n
        let available = bytes.count - base
        var tensors = [String: StoredTensor]()
        var metadata = [String: String]()
        for (name, value) in header {
            if name == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            let shown = excerpt(name)
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let off = info["data_offsets"] as? [Int], off.count == 2 else {
                throw fail("tensor \(shown) has no dtype, shape or data_offsets")
            }
            let size = dtype == "F32" ? 4 : (dtype == "F64" ? 8 : 0)
            guard size > 0 else { throw fail("tensor \(shown): unsupported dtype \(excerpt(dtype))") }
            // The element count, with every product checked against the bytes actually present:
            // a shape of [2^62, 2^62] is refused here, before anything is allocated.
            var count = 1
            for d in shape {
                guard d >= 0 else { throw fail("tensor \(shown): negative dimension \(d) in shape \(shape)") }
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= available / size else {
                    throw fail("tensor \(shown): shape \(shape) needs more bytes than the file holds")
                }
                count = p
            }
            guard off[0] >= 0, off[0] <= available, off[1] >= off[0], off[1] - off[0] == size * count, off[1] <= available else {
                throw fail("tensor \(shown): data_offsets \(off) do not fit its shape \(shape) or the file")
            }
            var values = [Float](repeating: 0, count: count)
            var firstBad: Int? = nil
            bytes.withUnsafeBytes { raw in
                let p = raw.baseAddress! + base + off[0]
                for i in 0..<count {
                    values[i] = size == 4 ? Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        : Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    if firstBad == nil && !values[i].isFinite { firstBad = i }
                }
            }
            if let i = firstBad {
                throw fail("tensor \(shown): value \(values[i]) at index \(i) is not finite (a diverged or corrupted model)")
            }
            tensors[name] = StoredTensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    /// Writes atomically (temporary file in the same folder, then rename; `AtomicFile`).
    public static func write(path: String, tensors: [String: StoredTensor], metadata: [String: String] = [:]) throws {
        let data = try encode(tensors, metadata: metadata)
        do { try AtomicFile.write(data, to: path) } catch let e as FileWriteError {
            throw CheckpointError.unreadable(path: path, reason: "cannot write: \(e.reason)")
        }
    }

    public static func read(path: String) throws -> (tensors: [String: StoredTensor], metadata: [String: String]) {
        let data: Data
        do { data = try InputFile.read(path) } catch let e as FileReadError { throw CheckpointError.unreadable(path: path, reason: e.reason) }
        return try decode(data, path: path)
    }
}

extension FieldMLP {
    /// Named tensors in PyTorch's naming (`hidden1.weight`, …, `skip.weight`, `output.bias`).
    public func namedParameters() -> [String: StoredTensor] {
        let h = width, d = inputs
        var t = [String: StoredTensor]()
        func slice(_ start: Int, _ count: Int) -> [Float] { Array(parameters[start..<(start + count)]) }
        t["hidden1.weight"] = StoredTensor(shape: [h, d], values: slice(0, h * d))
        t["skip.weight"] = StoredTensor(shape: [h, d], values: slice(h * d, h * d))
        t["hidden1.bias"] = StoredTensor(shape: [h], values: slice(2 * h * d, h))
        t["skip.bias"] = StoredTensor(shape: [h], values: slice(2 * h * d + h, h))
        for (i, mp) in maps.enumerated() {
            let name = i == 4 ? "output" : "hidden\(i + 2)"
            t[name + ".weight"] = StoredTensor(shape: [mp.outputs, mp.inputs], values: slice(mp.weight, mp.inputs * mp.outputs))
            t[name + ".bias"] = StoredTensor(shape: [mp.outputs], values: slice(mp.bias, mp.outputs))
        }
        return t
    }

    /// Loads tensors written by `namedParameters()` (shapes must match this network).
    public func load(_ tensors: [String: StoredTensor]) throws {
        let mine = namedParameters()
        var params = parameters
        for (name, t) in mine {
            guard let s = tensors[name] else { throw CheckpointError.mismatch("checkpoint lacks tensor \(name)") }
            guard s.shape == t.shape else { throw CheckpointError.mismatch("tensor \(name): shape \(s.shape), network expects \(t.shape)") }
            let start: Int
            switch name {
            case "hidden1.weight": start = 0
            case "skip.weight": start = width * inputs
            case "hidden1.bias": start = 2 * width * inputs
            case "skip.bias": start = 2 * width * inputs + width
            default:
                let layer = name.hasPrefix("output") ? 4 : Int(String(name.dropFirst(6).prefix(1)))! - 2
                start = name.hasSuffix("weight") ? maps[layer].weight : maps[layer].bias
            }
            params.replaceSubrange(start..<(start + s.values.count), with: s.values)
        }
        parameters = params
    }
}

extension Adam {
    /// The optimiser state as tensors (`adam.m`, `adam.v`) and metadata (step and hyper-parameters).
    public func stored() -> ([String: StoredTensor], [String: String]) {
        ([ "adam.m": StoredTensor(shape: [m.count], values: m), "adam.v": StoredTensor(shape: [v.count], values: v) ],
         ["adam.step": String(step), "adam.lr": String(learningRate), "adam.beta1": String(beta1), "adam.beta2": String(beta2),
          "adam.eps": String(epsilon), "adam.weight_decay": String(weightDecay), "adam.decoupled": String(decoupled)])
    }

    /// Restores the state written by `stored()`.
    public init(tensors: [String: StoredTensor], metadata: [String: String]) throws {
        guard let m = tensors["adam.m"], let v = tensors["adam.v"], m.values.count == v.values.count,
              let step = metadata["adam.step"].flatMap(Int.init), let lr = metadata["adam.lr"].flatMap(Double.init),
              let b1 = metadata["adam.beta1"].flatMap(Double.init), let b2 = metadata["adam.beta2"].flatMap(Double.init),
              let eps = metadata["adam.eps"].flatMap(Double.init), let wd = metadata["adam.weight_decay"].flatMap(Double.init),
              let dec = metadata["adam.decoupled"].flatMap(Bool.init) else {
            throw CheckpointError.mismatch("checkpoint lacks a complete Adam state")
        }
        self.init(parameterCount: m.values.count, learningRate: lr, decoupled: dec, weightDecay: wd)
        beta1 = b1; beta2 = b2; epsilon = eps
        self.step = step
        self.m = m.values
        self.v = v.values
    }
}

#if canImport(Glibc)
import Glibc
#endif
