import Foundation
import Neural
import Support

/// Checkpoints of a fit: `checkpoint.safetensors` holds everything needed to continue (weights,
/// Adam state, the best model so far, the training state and configuration as JSON metadata);
/// `model.safetensors` holds the model kept (PyTorch-style names; φ as `phi.params`).
public enum FieldCheckpoint {
    public static func save(_ trainer: Trainer, to path: String) throws {
        let m = trainer.model
        var tensors = [String: StoredTensor]()
        for (k, v) in m.mlp.namedParameters() { tensors["current." + k] = v }
        let (adamTensors, adamMeta) = m.adam.stored()
        tensors.merge(adamTensors) { $1 }
        var meta = adamMeta
        if let p = m.phi, let pa = m.phiAdam {
            tensors["current.phi.params"] = StoredTensor(shape: [p.parameterCount], values: p.parameters)
            let (t, md) = pa.stored()
            for (k, v) in t { tensors["phi." + k] = v }
            for (k, v) in md { meta["phi." + k] = v }
        }
        tensors["best.flat"] = StoredTensor(shape: [trainer.best.0.count], values: trainer.best.0)
        if let b = trainer.best.1 { tensors["best.phi.params"] = StoredTensor(shape: [b.count], values: b) }
        let enc = TexfieldJSON.encoder(pretty: false)  // sorted keys: the same run gives the same bytes
        meta["texfield.state"] = String(decoding: try enc.encode(trainer.state), as: UTF8.self)
        meta["texfield.config"] = String(decoding: try enc.encode(m.configuration), as: UTF8.self)
        try Safetensors.write(path: path, tensors: tensors, metadata: meta)
    }

    /// The configuration stored in a checkpoint.
    public static func configuration(at path: String) throws -> FieldConfiguration {
        let (_, meta) = try Safetensors.read(path: path)
        guard let s = meta["texfield.config"] else { throw FieldError.checkpoint("\(path): not a texfield fit checkpoint (no configuration)") }
        return try decodeConfiguration(s, path: path)
    }

    /// A configuration from a file's metadata, range-checked; errors name the file.
    static func decodeConfiguration(_ json: String, path: String) throws -> FieldConfiguration {
        let c: FieldConfiguration
        do { c = try TexfieldJSON.decoder().decode(FieldConfiguration.self, from: Data(json.utf8)) } catch {
            throw FieldError.checkpoint("\(path): unreadable configuration: \(describeDecodingError(error))")
        }
        do { try c.check() } catch let e as FieldError { throw FieldError.checkpoint("\(path): \(e)") }
        return c
    }

    /// Restores weights, optimiser state, best model and training state into `trainer`.
    public static func load(_ trainer: Trainer, from path: String) throws {
        let (tensors, meta) = try Safetensors.read(path: path)
        let m = trainer.model
        guard let s = meta["texfield.state"], let c = meta["texfield.config"] else {
            throw FieldError.checkpoint("\(path): not a texfield fit checkpoint")
        }
        let config = try decodeConfiguration(c, path: path)
        var mine = m.configuration, theirs = config
        mine.steps = 0; theirs.steps = 0; mine.seconds = 0; theirs.seconds = 0
        guard mine == theirs else {
            throw FieldError.configurationChanged(path: path)
        }
        var current = [String: StoredTensor]()
        for (k, v) in tensors where k.hasPrefix("current.") && k != "current.phi.params" { current[String(k.dropFirst(8))] = v }
        do { try m.mlp.load(current) } catch { throw FieldError.checkpoint("\(path): \(error)") }
        m.adam = try Adam(tensors: tensors, metadata: meta)
        if m.phi != nil {
            guard let p = tensors["current.phi.params"], p.values.count == m.phi!.parameterCount else {
                throw FieldError.checkpoint("\(path): the checkpoint lacks the SignNet φ parameters")
            }
            m.phi!.parameters = p.values
            var pt = [String: StoredTensor](), pm = [String: String]()
            for (k, v) in tensors where k.hasPrefix("phi.adam.") { pt[String(k.dropFirst(4))] = v }
            for (k, v) in meta where k.hasPrefix("phi.adam.") { pm[String(k.dropFirst(4))] = v }
            m.phiAdam = try Adam(tensors: pt, metadata: pm)
        }
        guard let b = tensors["best.flat"], b.values.count == m.mlp.parameterCount else {
            throw FieldError.checkpoint("\(path): the checkpoint lacks the best model")
        }
        trainer.best = (b.values, tensors["best.phi.params"]?.values)
        let state: TrainingState
        do { state = try TexfieldJSON.decoder().decode(TrainingState.self, from: Data(s.utf8)) } catch {
            throw FieldError.checkpoint("\(path): unreadable training state: \(describeDecodingError(error))")
        }
        guard state.step >= 0, state.step <= 1_000_000_000, state.seconds.isFinite, state.seconds >= 0,
              state.bestStep >= 0, state.bestStep <= state.step, !state.bestValidationL1.isNaN else {
            throw FieldError.checkpoint("\(path): training state out of range (step \(state.step), seconds \(state.seconds), best step \(state.bestStep))")
        }
        trainer.state = state
        trainer.state.finished = false
    }

    /// Writes the kept model alone.
    public static func saveModel(_ model: FieldModel, parameters: ([Float], [Float]?), to path: String) throws {
        let saved = model.parameterSnapshot
        model.restore(parameters)
        var tensors = model.mlp.namedParameters()
        if let p = parameters.1 { tensors["phi.params"] = StoredTensor(shape: [p.count], values: p) }
        model.restore(saved)
        let config = String(decoding: try TexfieldJSON.encoder(pretty: false).encode(model.configuration), as: UTF8.self)
        try Safetensors.write(path: path, tensors: tensors, metadata: ["texfield.config": config])
    }

    /// The configuration stored in a model file written by `saveModel`.
    public static func modelConfiguration(at path: String) throws -> FieldConfiguration {
        let (_, meta) = try Safetensors.read(path: path)
        guard let s = meta["texfield.config"] else { throw FieldError.checkpoint("\(path): no texfield configuration in its metadata") }
        return try decodeConfiguration(s, path: path)
    }

    /// Loads a model written by `saveModel` into `model`.
    public static func loadModel(_ model: FieldModel, from path: String) throws {
        let (tensors, _) = try Safetensors.read(path: path)
        do { try model.mlp.load(tensors) } catch { throw FieldError.checkpoint("\(path): \(error)") }
        if model.phi != nil {
            guard let p = tensors["phi.params"], p.values.count == model.phi!.parameterCount else {
                throw FieldError.checkpoint("\(path): the model lacks the SignNet φ parameters")
            }
            model.phi!.parameters = p.values
        }
    }
}
