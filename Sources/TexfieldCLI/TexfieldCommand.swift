import ArgumentParser

/// The `texfield` command: intrinsic neural fields on triangle meshes.
public struct TexfieldCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "texfield",
        abstract: "Laplace–Beltrami eigenfunctions and intrinsic neural fields on triangle meshes.",
        subcommands: [FitCommand.self, DemoCommand.self, EvalCommand.self, BakeCommand.self, ExperimentCommand.self, DynamicsCommand.self, GraphsCommand.self, InfoCommand.self, EigsCommand.self, RenderCommand.self, MeshCommand.self, MetricsCommand.self, BenchCommand.self])

    public init() {}
}
