using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace RemoteOps.Processes;

/// <summary>
/// A Windows job object holding one started program and everything it starts: what a process group and bubblewrap's
/// die-with-parent give on Linux. The job kills its processes when it is closed (so a killed parent leaves no
/// orphans, its handle closing with it), can be terminated as a whole (descendants whose parent already exited
/// included, which a process-tree walk misses), and can cap the memory of all its processes together.
/// </summary>
/// <remarks>Not exercised by this repository's tests, which run on Linux.</remarks>
[SupportedOSPlatform("windows")]
public sealed class WindowsJob : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long? _memoryLimit;

    private WindowsJob(SafeFileHandle handle, long? memoryLimit)
    {
        _handle = handle;
        _memoryLimit = memoryLimit;
    }

    /// <summary>Puts a started process in a new job (kill on close, and the memory cap when given).</summary>
    /// <exception cref="Win32Exception">The job could not be made or the process not assigned.</exception>
    public static WindowsJob Assign(Process process, long? memoryLimit)
    {
        ArgumentNullException.ThrowIfNull(process);
        var handle = Native.CreateJobObjectW(IntPtr.Zero, null);
        if (handle.IsInvalid) throw new Win32Exception(Marshal.GetLastPInvokeError());
        var job = new WindowsJob(handle, memoryLimit);
        try
        {
            var info = new Native.ExtendedLimitInformation();
            info.Basic.LimitFlags = Native.LimitKillOnJobClose;
            if (memoryLimit is { } bytes)
            {
                info.Basic.LimitFlags |= Native.LimitJobMemory;
                info.JobMemoryLimit = (UIntPtr)(ulong)bytes;
            }
            if (!Native.SetInformationJobObject(handle, Native.ExtendedLimitInformationClass, ref info, (uint)Marshal.SizeOf<Native.ExtendedLimitInformation>()))
                throw new Win32Exception(Marshal.GetLastPInvokeError());
            if (!Native.AssignProcessToJobObject(handle, process.Handle))
                throw new Win32Exception(Marshal.GetLastPInvokeError());
            return job;
        }
        catch
        {
            job.Dispose();
            throw;
        }
    }

    /// <summary>Kills every process in the job.</summary>
    public void Terminate() => Native.TerminateJobObject(_handle, 1);

    /// <summary>Whether the job's processes together reached its memory cap (an allocation past it was refused).</summary>
    public bool MemoryExceeded
    {
        get
        {
            if (_memoryLimit is not { } limit) return false;
            var info = new Native.ExtendedLimitInformation();
            return Native.QueryInformationJobObject(_handle, Native.ExtendedLimitInformationClass, ref info, (uint)Marshal.SizeOf<Native.ExtendedLimitInformation>(), IntPtr.Zero)
                && (ulong)info.PeakJobMemoryUsed >= (ulong)limit;
        }
    }

    /// <summary>Closes the job: whatever is still in it is killed.</summary>
    public void Dispose() => _handle.Dispose();

    private static class Native
    {
        public const int ExtendedLimitInformationClass = 9;
        public const uint LimitJobMemory = 0x0200, LimitKillOnJobClose = 0x2000;

        [StructLayout(LayoutKind.Sequential)]
        public struct BasicLimitInformation
        {
            public long PerProcessUserTimeLimit;
            public long PerJobUserTimeLimit;
            public uint LimitFlags;
            public UIntPtr MinimumWorkingSetSize;
            public UIntPtr MaximumWorkingSetSize;
            public uint ActiveProcessLimit;
            public UIntPtr Affinity;
            public uint PriorityClass;
            public uint SchedulingClass;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct IoCounters
        {
            public ulong ReadOperationCount, WriteOperationCount, OtherOperationCount, ReadTransferCount, WriteTransferCount, OtherTransferCount;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ExtendedLimitInformation
        {
            public BasicLimitInformation Basic;
            public IoCounters Io;
            public UIntPtr ProcessMemoryLimit;
            public UIntPtr JobMemoryLimit;
            public UIntPtr PeakProcessMemoryUsed;
            public UIntPtr PeakJobMemoryUsed;
        }

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        public static extern SafeFileHandle CreateJobObjectW(IntPtr attributes, string? name);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool SetInformationJobObject(SafeFileHandle job, int infoClass, ref ExtendedLimitInformation info, uint length);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool QueryInformationJobObject(SafeFileHandle job, int infoClass, ref ExtendedLimitInformation info, uint length, IntPtr returned);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool AssignProcessToJobObject(SafeFileHandle job, IntPtr process);

        [DllImport("kernel32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool TerminateJobObject(SafeFileHandle job, uint exitCode);
    }
}
