namespace RemoteOps; internal static class ModelsAssembly { }
