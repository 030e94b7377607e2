#include "rw_series.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include "prometheus/remote.pb.h"

namespace sprout::bench {
namespace {

// How a series' value moves from scrape to scrape.
enum Shape {
  kCounterInt,      // integer counts; about a third never move
  kCounterSeconds,  // seconds at 0.01 s resolution (cpu, disk time)
  kClockSeconds,    // node_time_seconds-like: +15 s each scrape, full float
  kGaugeBytes,      // page-sized random walk
  kGaugeDecimal,    // two decimals (load averages, temperatures)
  kGaugeFloat,      // full-precision float random walk (durations, ratios)
  kGaugeInt,        // small integer random walk (procs, sockets, goroutines)
  kConstOne,        // info metrics
  kConstValue,      // sizes, limits, flags
};

// The per-family label dimensions.
enum Dim {
  kNone,
  kCpu,          // cpu
  kCpuMode,      // cpu, mode (8 modes)
  kCpuGuest,     // cpu, mode (nice, user)
  kCpuInfo,      // cpu + model labels
  kInterrupts,   // cpu, devices, info, type
  kDisk,         // device
  kDiskInfo,     // device, major, minor, model, path, revision, serial
  kFs,           // device, fstype, mountpoint
  kNetDev,       // device
  kNetInfo,      // address, broadcast, device, duplex, ifalias, operstate
  kHwmon,        // chip, sensor
  kHwmonChip,    // chip, chip_name
  kCollector,    // collector
  kUnitState,    // name, state, type
  kUnits,        // state
  kQuantile,     // quantile
  kUname,        // domainname, machine, nodename, release, sysname, version
  kOsInfo,       // id, id_like, name, pretty_name, version, version_codename, version_id
  kBuildInfo,    // branch, goversion, revision, tags, version
  kGoInfo,       // version
  kCode,         // code
  kCause,        // cause
  kUdpQueues,    // ip, queue
  kTimeZone,     // time_zone
  kClocksource,  // clocksource, device
  kArp,          // device
};

struct Family {
  const char* name;
  Dim dim;
  Shape shape;
};

// node_exporter's families (names as the exporter exposes them on Linux).
constexpr Family kFamilies[] = {
    // cpu
    {"node_cpu_seconds_total", kCpuMode, kCounterSeconds},
    {"node_cpu_guest_seconds_total", kCpuGuest, kCounterSeconds},
    {"node_cpu_scaling_frequency_hertz", kCpu, kGaugeBytes},
    {"node_cpu_scaling_frequency_max_hertz", kCpu, kConstValue},
    {"node_cpu_scaling_frequency_min_hertz", kCpu, kConstValue},
    {"node_cpu_frequency_max_hertz", kCpu, kConstValue},
    {"node_cpu_frequency_min_hertz", kCpu, kConstValue},
    {"node_cpu_info", kCpuInfo, kConstOne},
    {"node_cpu_core_throttles_total", kCpu, kCounterInt},
    {"node_cpu_package_throttles_total", kCpu, kCounterInt},
    {"node_schedstat_running_seconds_total", kCpu, kCounterSeconds},
    {"node_schedstat_timeslices_total", kCpu, kCounterInt},
    {"node_schedstat_waiting_seconds_total", kCpu, kCounterSeconds},
    {"node_softnet_dropped_total", kCpu, kCounterInt},
    {"node_softnet_processed_total", kCpu, kCounterInt},
    {"node_softnet_times_squeezed_total", kCpu, kCounterInt},
    {"node_interrupts_total", kInterrupts, kCounterInt},
    // disk
    {"node_disk_discard_time_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_discarded_sectors_total", kDisk, kCounterInt},
    {"node_disk_discards_completed_total", kDisk, kCounterInt},
    {"node_disk_discards_merged_total", kDisk, kCounterInt},
    {"node_disk_flush_requests_time_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_flush_requests_total", kDisk, kCounterInt},
    {"node_disk_io_now", kDisk, kGaugeInt},
    {"node_disk_io_time_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_io_time_weighted_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_read_bytes_total", kDisk, kCounterInt},
    {"node_disk_read_time_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_reads_completed_total", kDisk, kCounterInt},
    {"node_disk_reads_merged_total", kDisk, kCounterInt},
    {"node_disk_write_time_seconds_total", kDisk, kCounterSeconds},
    {"node_disk_writes_completed_total", kDisk, kCounterInt},
    {"node_disk_writes_merged_total", kDisk, kCounterInt},
    {"node_disk_written_bytes_total", kDisk, kCounterInt},
    {"node_disk_info", kDiskInfo, kConstOne},
    // filesystem
    {"node_filesystem_avail_bytes", kFs, kGaugeBytes},
    {"node_filesystem_device_error", kFs, kConstValue},
    {"node_filesystem_files", kFs, kConstValue},
    {"node_filesystem_files_free", kFs, kGaugeInt},
    {"node_filesystem_free_bytes", kFs, kGaugeBytes},
    {"node_filesystem_readonly", kFs, kConstValue},
    {"node_filesystem_size_bytes", kFs, kConstValue},
    // network
    {"node_network_receive_bytes_total", kNetDev, kCounterInt},
    {"node_network_receive_compressed_total", kNetDev, kCounterInt},
    {"node_network_receive_drop_total", kNetDev, kCounterInt},
    {"node_network_receive_errs_total", kNetDev, kCounterInt},
    {"node_network_receive_fifo_total", kNetDev, kCounterInt},
    {"node_network_receive_frame_total", kNetDev, kCounterInt},
    {"node_network_receive_multicast_total", kNetDev, kCounterInt},
    {"node_network_receive_nohandler_total", kNetDev, kCounterInt},
    {"node_network_receive_packets_total", kNetDev, kCounterInt},
    {"node_network_transmit_bytes_total", kNetDev, kCounterInt},
    {"node_network_transmit_carrier_total", kNetDev, kCounterInt},
    {"node_network_transmit_colls_total", kNetDev, kCounterInt},
    {"node_network_transmit_compressed_total", kNetDev, kCounterInt},
    {"node_network_transmit_drop_total", kNetDev, kCounterInt},
    {"node_network_transmit_errs_total", kNetDev, kCounterInt},
    {"node_network_transmit_fifo_total", kNetDev, kCounterInt},
    {"node_network_transmit_packets_total", kNetDev, kCounterInt},
    {"node_network_transmit_queue_length", kNetDev, kConstValue},
    {"node_network_address_assign_type", kNetDev, kConstValue},
    {"node_network_carrier", kNetDev, kConstValue},
    {"node_network_carrier_changes_total", kNetDev, kConstValue},
    {"node_network_carrier_down_changes_total", kNetDev, kConstValue},
    {"node_network_carrier_up_changes_total", kNetDev, kConstValue},
    {"node_network_device_id", kNetDev, kConstValue},
    {"node_network_dormant", kNetDev, kConstValue},
    {"node_network_flags", kNetDev, kConstValue},
    {"node_network_iface_id", kNetDev, kConstValue},
    {"node_network_iface_link", kNetDev, kConstValue},
    {"node_network_iface_link_mode", kNetDev, kConstValue},
    {"node_network_mtu_bytes", kNetDev, kConstValue},
    {"node_network_name_assign_type", kNetDev, kConstValue},
    {"node_network_net_dev_group", kNetDev, kConstValue},
    {"node_network_protocol_type", kNetDev, kConstValue},
    {"node_network_speed_bytes", kNetDev, kConstValue},
    {"node_network_up", kNetDev, kConstValue},
    {"node_network_info", kNetInfo, kConstOne},
    {"node_arp_entries", kArp, kGaugeInt},
    // memory
    {"node_memory_Active_anon_bytes", kNone, kGaugeBytes},
    {"node_memory_Active_bytes", kNone, kGaugeBytes},
    {"node_memory_Active_file_bytes", kNone, kGaugeBytes},
    {"node_memory_AnonHugePages_bytes", kNone, kGaugeBytes},
    {"node_memory_AnonPages_bytes", kNone, kGaugeBytes},
    {"node_memory_Bounce_bytes", kNone, kConstValue},
    {"node_memory_Buffers_bytes", kNone, kGaugeBytes},
    {"node_memory_Cached_bytes", kNone, kGaugeBytes},
    {"node_memory_CommitLimit_bytes", kNone, kConstValue},
    {"node_memory_Committed_AS_bytes", kNone, kGaugeBytes},
    {"node_memory_DirectMap1G_bytes", kNone, kConstValue},
    {"node_memory_DirectMap2M_bytes", kNone, kConstValue},
    {"node_memory_DirectMap4k_bytes", kNone, kConstValue},
    {"node_memory_Dirty_bytes", kNone, kGaugeBytes},
    {"node_memory_FileHugePages_bytes", kNone, kConstValue},
    {"node_memory_FilePmdMapped_bytes", kNone, kConstValue},
    {"node_memory_HardwareCorrupted_bytes", kNone, kConstValue},
    {"node_memory_HugePages_Free", kNone, kConstValue},
    {"node_memory_HugePages_Rsvd", kNone, kConstValue},
    {"node_memory_HugePages_Surp", kNone, kConstValue},
    {"node_memory_HugePages_Total", kNone, kConstValue},
    {"node_memory_Hugepagesize_bytes", kNone, kConstValue},
    {"node_memory_Hugetlb_bytes", kNone, kConstValue},
    {"node_memory_Inactive_anon_bytes", kNone, kGaugeBytes},
    {"node_memory_Inactive_bytes", kNone, kGaugeBytes},
    {"node_memory_Inactive_file_bytes", kNone, kGaugeBytes},
    {"node_memory_KReclaimable_bytes", kNone, kGaugeBytes},
    {"node_memory_KernelStack_bytes", kNone, kGaugeBytes},
    {"node_memory_Mapped_bytes", kNone, kGaugeBytes},
    {"node_memory_MemAvailable_bytes", kNone, kGaugeBytes},
    {"node_memory_MemFree_bytes", kNone, kGaugeBytes},
    {"node_memory_MemTotal_bytes", kNone, kConstValue},
    {"node_memory_Mlocked_bytes", kNone, kConstValue},
    {"node_memory_NFS_Unstable_bytes", kNone, kConstValue},
    {"node_memory_PageTables_bytes", kNone, kGaugeBytes},
    {"node_memory_Percpu_bytes", kNone, kConstValue},
    {"node_memory_SReclaimable_bytes", kNone, kGaugeBytes},
    {"node_memory_SUnreclaim_bytes", kNone, kGaugeBytes},
    {"node_memory_ShmemHugePages_bytes", kNone, kConstValue},
    {"node_memory_ShmemPmdMapped_bytes", kNone, kConstValue},
    {"node_memory_Shmem_bytes", kNone, kGaugeBytes},
    {"node_memory_Slab_bytes", kNone, kGaugeBytes},
    {"node_memory_SwapCached_bytes", kNone, kConstValue},
    {"node_memory_SwapFree_bytes", kNone, kConstValue},
    {"node_memory_SwapTotal_bytes", kNone, kConstValue},
    {"node_memory_Unevictable_bytes", kNone, kConstValue},
    {"node_memory_VmallocChunk_bytes", kNone, kConstValue},
    {"node_memory_VmallocTotal_bytes", kNone, kConstValue},
    {"node_memory_VmallocUsed_bytes", kNone, kGaugeBytes},
    {"node_memory_WritebackTmp_bytes", kNone, kConstValue},
    {"node_memory_Writeback_bytes", kNone, kGaugeBytes},
    // vmstat
    {"node_vmstat_allocstall_normal", kNone, kCounterInt},
    {"node_vmstat_compact_fail", kNone, kCounterInt},
    {"node_vmstat_compact_stall", kNone, kCounterInt},
    {"node_vmstat_compact_success", kNone, kCounterInt},
    {"node_vmstat_drop_pagecache", kNone, kCounterInt},
    {"node_vmstat_drop_slab", kNone, kCounterInt},
    {"node_vmstat_kswapd_inodesteal", kNone, kCounterInt},
    {"node_vmstat_nr_dirtied", kNone, kCounterInt},
    {"node_vmstat_nr_written", kNone, kCounterInt},
    {"node_vmstat_numa_foreign", kNone, kCounterInt},
    {"node_vmstat_numa_hit", kNone, kCounterInt},
    {"node_vmstat_numa_local", kNone, kCounterInt},
    {"node_vmstat_numa_miss", kNone, kCounterInt},
    {"node_vmstat_numa_other", kNone, kCounterInt},
    {"node_vmstat_oom_kill", kNone, kCounterInt},
    {"node_vmstat_pageoutrun", kNone, kCounterInt},
    {"node_vmstat_pgactivate", kNone, kCounterInt},
    {"node_vmstat_pgalloc_normal", kNone, kCounterInt},
    {"node_vmstat_pgdeactivate", kNone, kCounterInt},
    {"node_vmstat_pgfault", kNone, kCounterInt},
    {"node_vmstat_pgfree", kNone, kCounterInt},
    {"node_vmstat_pginodesteal", kNone, kCounterInt},
    {"node_vmstat_pgmajfault", kNone, kCounterInt},
    {"node_vmstat_pgpgin", kNone, kCounterInt},
    {"node_vmstat_pgpgout", kNone, kCounterInt},
    {"node_vmstat_pgrefill", kNone, kCounterInt},
    {"node_vmstat_pgscan_direct", kNone, kCounterInt},
    {"node_vmstat_pgscan_kswapd", kNone, kCounterInt},
    {"node_vmstat_pgskip_normal", kNone, kCounterInt},
    {"node_vmstat_pgsteal_direct", kNone, kCounterInt},
    {"node_vmstat_pgsteal_kswapd", kNone, kCounterInt},
    {"node_vmstat_pswpin", kNone, kCounterInt},
    {"node_vmstat_pswpout", kNone, kCounterInt},
    {"node_vmstat_slabs_scanned", kNone, kCounterInt},
    {"node_vmstat_thp_collapse_alloc", kNone, kCounterInt},
    {"node_vmstat_thp_fault_alloc", kNone, kCounterInt},
    {"node_vmstat_unevictable_pgs_culled", kNone, kCounterInt},
    {"node_vmstat_workingset_activate_file", kNone, kCounterInt},
    {"node_vmstat_workingset_nodereclaim", kNone, kCounterInt},
    {"node_vmstat_workingset_refault_file", kNone, kCounterInt},
    // netstat
    {"node_netstat_Icmp6_InErrors", kNone, kCounterInt},
    {"node_netstat_Icmp6_InMsgs", kNone, kCounterInt},
    {"node_netstat_Icmp6_OutMsgs", kNone, kCounterInt},
    {"node_netstat_Icmp_InErrors", kNone, kCounterInt},
    {"node_netstat_Icmp_InMsgs", kNone, kCounterInt},
    {"node_netstat_Icmp_OutMsgs", kNone, kCounterInt},
    {"node_netstat_Ip6_InOctets", kNone, kCounterInt},
    {"node_netstat_Ip6_OutOctets", kNone, kCounterInt},
    {"node_netstat_IpExt_InOctets", kNone, kCounterInt},
    {"node_netstat_IpExt_OutOctets", kNone, kCounterInt},
    {"node_netstat_Ip_Forwarding", kNone, kConstValue},
    {"node_netstat_TcpExt_ListenDrops", kNone, kCounterInt},
    {"node_netstat_TcpExt_ListenOverflows", kNone, kCounterInt},
    {"node_netstat_TcpExt_SyncookiesFailed", kNone, kCounterInt},
    {"node_netstat_TcpExt_SyncookiesRecv", kNone, kCounterInt},
    {"node_netstat_TcpExt_SyncookiesSent", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPAbortOnClose", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPAbortOnData", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPOFOQueue", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPRcvQDrop", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPSynRetrans", kNone, kCounterInt},
    {"node_netstat_TcpExt_TCPTimeouts", kNone, kCounterInt},
    {"node_netstat_Tcp_ActiveOpens", kNone, kCounterInt},
    {"node_netstat_Tcp_CurrEstab", kNone, kGaugeInt},
    {"node_netstat_Tcp_InErrs", kNone, kCounterInt},
    {"node_netstat_Tcp_InSegs", kNone, kCounterInt},
    {"node_netstat_Tcp_OutRsts", kNone, kCounterInt},
    {"node_netstat_Tcp_OutSegs", kNone, kCounterInt},
    {"node_netstat_Tcp_PassiveOpens", kNone, kCounterInt},
    {"node_netstat_Tcp_RetransSegs", kNone, kCounterInt},
    {"node_netstat_Udp6_InDatagrams", kNone, kCounterInt},
    {"node_netstat_Udp6_InErrors", kNone, kCounterInt},
    {"node_netstat_Udp6_NoPorts", kNone, kCounterInt},
    {"node_netstat_Udp6_OutDatagrams", kNone, kCounterInt},
    {"node_netstat_Udp6_RcvbufErrors", kNone, kCounterInt},
    {"node_netstat_Udp6_SndbufErrors", kNone, kCounterInt},
    {"node_netstat_UdpLite6_InErrors", kNone, kCounterInt},
    {"node_netstat_UdpLite_InErrors", kNone, kCounterInt},
    {"node_netstat_Udp_InDatagrams", kNone, kCounterInt},
    {"node_netstat_Udp_InErrors", kNone, kCounterInt},
    {"node_netstat_Udp_NoPorts", kNone, kCounterInt},
    {"node_netstat_Udp_OutDatagrams", kNone, kCounterInt},
    {"node_netstat_Udp_RcvbufErrors", kNone, kCounterInt},
    {"node_netstat_Udp_SndbufErrors", kNone, kCounterInt},
    // sockstat
    {"node_sockstat_FRAG6_inuse", kNone, kConstValue},
    {"node_sockstat_FRAG_inuse", kNone, kConstValue},
    {"node_sockstat_FRAG_memory", kNone, kConstValue},
    {"node_sockstat_RAW6_inuse", kNone, kConstValue},
    {"node_sockstat_RAW_inuse", kNone, kConstValue},
    {"node_sockstat_TCP6_inuse", kNone, kGaugeInt},
    {"node_sockstat_TCP_alloc", kNone, kGaugeInt},
    {"node_sockstat_TCP_inuse", kNone, kGaugeInt},
    {"node_sockstat_TCP_mem", kNone, kGaugeInt},
    {"node_sockstat_TCP_mem_bytes", kNone, kGaugeBytes},
    {"node_sockstat_TCP_orphan", kNone, kGaugeInt},
    {"node_sockstat_TCP_tw", kNone, kGaugeInt},
    {"node_sockstat_UDP6_inuse", kNone, kGaugeInt},
    {"node_sockstat_UDPLITE6_inuse", kNone, kConstValue},
    {"node_sockstat_UDPLITE_inuse", kNone, kConstValue},
    {"node_sockstat_UDP_inuse", kNone, kGaugeInt},
    {"node_sockstat_UDP_mem", kNone, kGaugeInt},
    {"node_sockstat_UDP_mem_bytes", kNone, kGaugeBytes},
    {"node_sockstat_sockets_used", kNone, kGaugeInt},
    {"node_udp_queues", kUdpQueues, kGaugeInt},
    // timex
    {"node_timex_estimated_error_seconds", kNone, kGaugeFloat},
    {"node_timex_frequency_adjustment_ratio", kNone, kGaugeFloat},
    {"node_timex_loop_time_constant", kNone, kConstValue},
    {"node_timex_maxerror_seconds", kNone, kGaugeFloat},
    {"node_timex_offset_seconds", kNone, kGaugeFloat},
    {"node_timex_pps_calibration_total", kNone, kConstValue},
    {"node_timex_pps_error_total", kNone, kConstValue},
    {"node_timex_pps_frequency_hertz", kNone, kConstValue},
    {"node_timex_pps_jitter_seconds", kNone, kConstValue},
    {"node_timex_pps_jitter_total", kNone, kConstValue},
    {"node_timex_pps_shift_seconds", kNone, kConstValue},
    {"node_timex_pps_stability_exceeded_total", kNone, kConstValue},
    {"node_timex_pps_stability_hertz", kNone, kConstValue},
    {"node_timex_status", kNone, kConstValue},
    {"node_timex_sync_status", kNone, kConstValue},
    {"node_timex_tai_offset_seconds", kNone, kConstValue},
    {"node_timex_tick_seconds", kNone, kConstValue},
    // misc host
    {"node_boot_time_seconds", kNone, kConstValue},
    {"node_context_switches_total", kNone, kCounterInt},
    {"node_entropy_available_bits", kNone, kGaugeInt},
    {"node_entropy_pool_size_bits", kNone, kConstValue},
    {"node_filefd_allocated", kNone, kGaugeInt},
    {"node_filefd_maximum", kNone, kConstValue},
    {"node_forks_total", kNone, kCounterInt},
    {"node_intr_total", kNone, kCounterInt},
    {"node_load1", kNone, kGaugeDecimal},
    {"node_load15", kNone, kGaugeDecimal},
    {"node_load5", kNone, kGaugeDecimal},
    {"node_nf_conntrack_entries", kNone, kGaugeInt},
    {"node_nf_conntrack_entries_limit", kNone, kConstValue},
    {"node_pressure_cpu_waiting_seconds_total", kNone, kCounterSeconds},
    {"node_pressure_io_stalled_seconds_total", kNone, kCounterSeconds},
    {"node_pressure_io_waiting_seconds_total", kNone, kCounterSeconds},
    {"node_pressure_memory_stalled_seconds_total", kNone, kCounterSeconds},
    {"node_pressure_memory_waiting_seconds_total", kNone, kCounterSeconds},
    {"node_processes_max_processes", kNone, kConstValue},
    {"node_processes_max_threads", kNone, kConstValue},
    {"node_processes_pids", kNone, kGaugeInt},
    {"node_processes_threads", kNone, kGaugeInt},
    {"node_procs_blocked", kNone, kGaugeInt},
    {"node_procs_running", kNone, kGaugeInt},
    {"node_selinux_enabled", kNone, kConstValue},
    {"node_textfile_scrape_error", kNone, kConstValue},
    {"node_time_seconds", kNone, kClockSeconds},
    {"node_time_zone_offset_seconds", kTimeZone, kConstValue},
    {"node_time_clocksource_available_info", kClocksource, kConstOne},
    {"node_time_clocksource_current_info", kClocksource, kConstOne},
    {"node_uname_info", kUname, kConstOne},
    {"node_os_info", kOsInfo, kConstOne},
    {"node_os_version", kOsInfo, kConstValue},
    {"node_exporter_build_info", kBuildInfo, kConstOne},
    {"node_hwmon_temp_celsius", kHwmon, kGaugeDecimal},
    {"node_hwmon_temp_crit_celsius", kHwmon, kConstValue},
    {"node_hwmon_temp_crit_alarm_celsius", kHwmon, kConstValue},
    {"node_hwmon_temp_max_celsius", kHwmon, kConstValue},
    {"node_hwmon_chip_names", kHwmonChip, kConstOne},
    {"node_scrape_collector_duration_seconds", kCollector, kGaugeFloat},
    {"node_scrape_collector_success", kCollector, kConstOne},
    {"node_systemd_unit_state", kUnitState, kConstValue},
    {"node_systemd_units", kUnits, kGaugeInt},
    {"node_systemd_system_running", kNone, kConstOne},
    {"node_systemd_socket_accepted_connections_total", kNone, kCounterInt},
    // the exporter's own process
    {"go_gc_duration_seconds", kQuantile, kGaugeFloat},
    {"go_gc_duration_seconds_count", kNone, kCounterInt},
    {"go_gc_duration_seconds_sum", kNone, kCounterSeconds},
    {"go_goroutines", kNone, kGaugeInt},
    {"go_info", kGoInfo, kConstOne},
    {"go_memstats_alloc_bytes", kNone, kGaugeBytes},
    {"go_memstats_alloc_bytes_total", kNone, kCounterInt},
    {"go_memstats_buck_hash_sys_bytes", kNone, kConstValue},
    {"go_memstats_frees_total", kNone, kCounterInt},
    {"go_memstats_gc_sys_bytes", kNone, kGaugeBytes},
    {"go_memstats_heap_alloc_bytes", kNone, kGaugeBytes},
    {"go_memstats_heap_idle_bytes", kNone, kGaugeBytes},
    {"go_memstats_heap_inuse_bytes", kNone, kGaugeBytes},
    {"go_memstats_heap_objects", kNone, kGaugeInt},
    {"go_memstats_heap_released_bytes", kNone, kGaugeBytes},
    {"go_memstats_heap_sys_bytes", kNone, kGaugeBytes},
    {"go_memstats_last_gc_time_seconds", kNone, kClockSeconds},
    {"go_memstats_lookups_total", kNone, kConstValue},
    {"go_memstats_mallocs_total", kNone, kCounterInt},
    {"go_memstats_mcache_inuse_bytes", kNone, kConstValue},
    {"go_memstats_mcache_sys_bytes", kNone, kConstValue},
    {"go_memstats_mspan_inuse_bytes", kNone, kGaugeBytes},
    {"go_memstats_mspan_sys_bytes", kNone, kGaugeBytes},
    {"go_memstats_next_gc_bytes", kNone, kGaugeBytes},
    {"go_memstats_other_sys_bytes", kNone, kGaugeBytes},
    {"go_memstats_stack_inuse_bytes", kNone, kGaugeBytes},
    {"go_memstats_stack_sys_bytes", kNone, kGaugeBytes},
    {"go_memstats_sys_bytes", kNone, kGaugeBytes},
    {"go_threads", kNone, kGaugeInt},
    {"process_cpu_seconds_total", kNone, kCounterSeconds},
    {"process_max_fds", kNone, kConstValue},
    {"process_open_fds", kNone, kGaugeInt},
    {"process_resident_memory_bytes", kNone, kGaugeBytes},
    {"process_start_time_seconds", kNone, kConstValue},
    {"process_virtual_memory_bytes", kNone, kGaugeBytes},
    {"process_virtual_memory_max_bytes", kNone, kConstValue},
    {"promhttp_metric_handler_errors_total", kCause, kConstValue},
    {"promhttp_metric_handler_requests_in_flight", kNone, kConstOne},
    {"promhttp_metric_handler_requests_total", kCode, kCounterInt},
};

constexpr const char* kCpuModes[] = {"idle",    "iowait", "irq",    "nice",
                                     "softirq", "steal",  "system", "user"};
constexpr const char* kCollectors[] = {
    "arp",       "bcache",     "bonding",      "btrfs",
    "conntrack", "cpu",        "cpufreq",      "diskstats",
    "dmi",       "edac",       "entropy",      "fibrechannel",
    "filefd",    "filesystem", "hwmon",        "infiniband",
    "ipvs",      "loadavg",    "mdadm",        "meminfo",
    "netclass",  "netdev",     "netstat",      "nfs",
    "nfsd",      "nvme",       "os",           "powersupplyclass",
    "pressure",  "rapl",       "schedstat",    "selinux",
    "sockstat",  "softnet",    "stat",         "systemd",
    "tapestats", "textfile",   "thermal_zone", "time",
    "timex",     "udp_queues", "uname",        "vmstat",
    "xfs",       "zfs"};
constexpr const char* kUnitStates[] = {"activating", "active", "deactivating", "failed",
                                       "inactive"};
constexpr const char* kUnitNames[] = {"apparmor.service",
                                      "apt-daily.service",
                                      "apt-daily.timer",
                                      "apt-daily-upgrade.timer",
                                      "auditd.service",
                                      "chrony.service",
                                      "containerd.service",
                                      "cron.service",
                                      "dbus.service",
                                      "dbus.socket",
                                      "docker.service",
                                      "docker.socket",
                                      "e2scrub_all.timer",
                                      "fstrim.timer",
                                      "getty@tty1.service",
                                      "ifup@eth0.service",
                                      "kmod-static-nodes.service",
                                      "logrotate.timer",
                                      "man-db.timer",
                                      "networking.service",
                                      "node_exporter.service",
                                      "polkit.service",
                                      "rsyslog.service",
                                      "serial-getty@ttyS0.service",
                                      "ssh.service",
                                      "sshd.socket",
                                      "sysstat.service",
                                      "systemd-journald.service",
                                      "systemd-journald.socket",
                                      "systemd-logind.service",
                                      "systemd-networkd.service",
                                      "systemd-random-seed.service",
                                      "systemd-remount-fs.service",
                                      "systemd-resolved.service",
                                      "systemd-sysctl.service",
                                      "systemd-timesyncd.service",
                                      "systemd-tmpfiles-clean.timer",
                                      "systemd-udev-trigger.service",
                                      "systemd-udevd.service",
                                      "systemd-update-utmp.service",
                                      "unattended-upgrades.service",
                                      "user@1000.service",
                                      "user-runtime-dir@1000.service",
                                      "cloud-init.service",
                                      "cloud-config.service",
                                      "cloud-final.service",
                                      "google-guest-agent.service",
                                      "nginx.service",
                                      "postgresql.service",
                                      "redis-server.service",
                                      "haproxy.service",
                                      "kubelet.service",
                                      "fluent-bit.service",
                                      "mdmonitor.service",
                                      "smartd.service",
                                      "irqbalance.service",
                                      "lvm2-monitor.service",
                                      "multipathd.service",
                                      "snapd.service",
                                      "snapd.socket"};
constexpr const char* kInterruptTypes[][3] = {
    // type, devices, info
    {"0", "timer", "IO-APIC"},
    {"1", "i8042", "IO-APIC"},
    {"8", "rtc0", "IO-APIC"},
    {"9", "acpi", "IO-APIC"},
    {"24", "nvme0q0", "PCI-MSI"},
    {"25", "nvme0q1", "PCI-MSI"},
    {"26", "eth0-TxRx-0", "PCI-MSI"},
    {"27", "eth0-TxRx-1", "PCI-MSI"},
    {"LOC", "", "Local timer interrupts"},
    {"RES", "", "Rescheduling interrupts"},
    {"CAL", "", "Function call interrupts"},
    {"TLB", "", "TLB shootdowns"},
    {"NMI", "", "Non-maskable interrupts"},
    {"PMI", "", "Performance monitoring interrupts"}};
struct Fs {
  const char* device;
  const char* fstype;
  const char* mountpoint;
};
constexpr Fs kFilesystems[] = {
    {"/dev/sda1", "ext4", "/"},           {"/dev/sda15", "vfat", "/boot/efi"},
    {"tmpfs", "tmpfs", "/run"},           {"tmpfs", "tmpfs", "/run/lock"},
    {"tmpfs", "tmpfs", "/run/user/1000"}, {"/dev/sdb1", "xfs", "/var/lib/docker"},
    {"/dev/nvme0n1p1", "ext4", "/data"},  {"/dev/mapper/vg0-home", "ext4", "/home"}};
constexpr const char* kDisks[] = {"sda", "sdb", "nvme0n1", "dm-0", "sdc"};

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double Uniform(uint64_t* state) { return (SplitMix(state) >> 11) * 0x1.0p-53; }
double Normal(uint64_t* state) {
  double s = 0;
  for (int i = 0; i < 4; ++i) s += Uniform(state);
  return (s - 2.0) * 1.7320508075688772;  // mean 0, variance 1
}
uint64_t Fnv1a(std::string_view bytes, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// What one host exposes.
struct Host {
  int index;
  std::string instance;
  int cpus;
  std::vector<const char*> disks;
  std::vector<Fs> filesystems;
  std::vector<std::string> netdevs;
  std::vector<const char*> units;
  int sensors;
};

Host MakeHost(int index, uint64_t seed) {
  uint64_t rng = seed * 0x2545f4914f6cdd1dULL + static_cast<uint64_t>(index) * 7919 + 1;
  Host h;
  h.index = index;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "host-%03d:9100", index);
  h.instance = buf;
  constexpr int kCpuChoices[] = {2, 4, 4, 8, 8, 16};
  h.cpus = kCpuChoices[SplitMix(&rng) % 6];
  const int disks = 1 + static_cast<int>(SplitMix(&rng) % 4);
  for (int i = 0; i < disks; ++i) h.disks.push_back(kDisks[i]);
  for (const Fs& fs : kFilesystems) {
    if (std::string_view(fs.mountpoint) == "/" || Uniform(&rng) < 0.6) h.filesystems.push_back(fs);
  }
  h.netdevs = {"eth0", "lo"};
  if (Uniform(&rng) < 0.5) h.netdevs.push_back("eth1");
  if (Uniform(&rng) < 0.5) {
    h.netdevs.push_back("docker0");
    const int veths = static_cast<int>(SplitMix(&rng) % 7);
    for (int i = 0; i < veths; ++i) {
      std::snprintf(buf, sizeof(buf), "veth%07llx",
                    static_cast<unsigned long long>(SplitMix(&rng) & 0xfffffff));
      h.netdevs.push_back(buf);
    }
  }
  for (const char* unit : kUnitNames) {
    if (Uniform(&rng) < 0.55) h.units.push_back(unit);
  }
  h.sensors = 2 + static_cast<int>(SplitMix(&rng) % 5);
  return h;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// Every label set of `family` on `host` (per-family labels only).
std::vector<Labels> Expand(const Family& family, const Host& host) {
  std::vector<Labels> out;
  auto cpu = [](int i) { return std::to_string(i); };
  switch (family.dim) {
    case kNone:
      out.push_back({});
      break;
    case kCpu:
      for (int c = 0; c < host.cpus; ++c) out.push_back({{"cpu", cpu(c)}});
      break;
    case kCpuMode:
      for (int c = 0; c < host.cpus; ++c)
        for (const char* mode : kCpuModes) out.push_back({{"cpu", cpu(c)}, {"mode", mode}});
      break;
    case kCpuGuest:
      for (int c = 0; c < host.cpus; ++c)
        for (const char* mode : {"nice", "user"}) out.push_back({{"cpu", cpu(c)}, {"mode", mode}});
      break;
    case kCpuInfo:
      for (int c = 0; c < host.cpus; ++c)
        out.push_back({{"cachesize", "33792 KB"},
                       {"core", cpu(c / 2)},
                       {"cpu", cpu(c)},
                       {"family", "6"},
                       {"microcode", "0xffffffff"},
                       {"model", "85"},
                       {"model_name", "Intel(R) Xeon(R) CPU @ 2.20GHz"},
                       {"package", "0"},
                       {"stepping", "7"},
                       {"vendor", "GenuineIntel"}});
      break;
    case kInterrupts:
      for (int c = 0; c < host.cpus; ++c)
        for (const auto& t : kInterruptTypes)
          out.push_back({{"cpu", cpu(c)}, {"devices", t[1]}, {"info", t[2]}, {"type", t[0]}});
      break;
    case kDisk:
      for (const char* d : host.disks) out.push_back({{"device", d}});
      break;
    case kDiskInfo:
      for (size_t i = 0; i < host.disks.size(); ++i)
        out.push_back({{"device", host.disks[i]},
                       {"major", "8"},
                       {"minor", std::to_string(16 * i)},
                       {"model", "PersistentDisk"},
                       {"path", "pci-0000:00:03.0-scsi-0:0:" + std::to_string(i + 1) + ":0"},
                       {"revision", "1"},
                       {"serial", "persistent-disk-" + std::to_string(i)}});
      break;
    case kFs:
      for (const Fs& fs : host.filesystems)
        out.push_back(
            {{"device", fs.device}, {"fstype", fs.fstype}, {"mountpoint", fs.mountpoint}});
      break;
    case kNetDev:
      for (const auto& d : host.netdevs) out.push_back({{"device", d}});
      break;
    case kNetInfo:
      for (size_t i = 0; i < host.netdevs.size(); ++i) {
        char mac[32];
        std::snprintf(mac, sizeof(mac), "42:01:0a:%02x:%02x:%02x", host.index & 0xff,
                      (host.index >> 8) & 0xff, static_cast<int>(i));
        out.push_back({{"address", mac},
                       {"broadcast", "ff:ff:ff:ff:ff:ff"},
                       {"device", host.netdevs[i]},
                       {"duplex", host.netdevs[i] == "lo" ? "" : "full"},
                       {"ifalias", ""},
                       {"operstate", host.netdevs[i] == "lo" ? "unknown" : "up"}});
      }
      break;
    case kArp:
      out.push_back({{"device", "eth0"}});
      if (host.netdevs.size() > 2) out.push_back({{"device", host.netdevs[2]}});
      break;
    case kHwmon:
      for (int s = 0; s < host.sensors; ++s)
        out.push_back(
            {{"chip", "platform_coretemp_0"}, {"sensor", "temp" + std::to_string(s + 1)}});
      break;
    case kHwmonChip:
      out.push_back({{"chip", "platform_coretemp_0"}, {"chip_name", "coretemp"}});
      break;
    case kCollector:
      for (const char* c : kCollectors) out.push_back({{"collector", c}});
      break;
    case kUnitState:
      for (const char* unit : host.units) {
        const char* dot = std::strrchr(unit, '.');
        for (const char* state : kUnitStates)
          out.push_back({{"name", unit}, {"state", state}, {"type", dot ? dot + 1 : "service"}});
      }
      break;
    case kUnits:
      for (const char* state : kUnitStates) out.push_back({{"state", state}});
      break;
    case kQuantile:
      for (const char* q : {"0", "0.25", "0.5", "0.75", "1"}) out.push_back({{"quantile", q}});
      break;
    case kUname:
      out.push_back(
          {{"domainname", "(none)"},
           {"machine", "x86_64"},
           {"nodename", host.instance.substr(0, host.instance.find(':'))},
           {"release", host.index % 3 == 0 ? "6.1.0-13-cloud-amd64" : "5.10.0-26-cloud-amd64"},
           {"sysname", "Linux"},
           {"version", host.index % 3 == 0 ? "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"
                                           : "#1 SMP Debian 5.10.197-1 (2023-09-29)"}});
      break;
    case kOsInfo:
      out.push_back({{"id", "debian"},
                     {"id_like", ""},
                     {"name", "Debian GNU/Linux"},
                     {"pretty_name", host.index % 3 == 0 ? "Debian GNU/Linux 12 (bookworm)"
                                                         : "Debian GNU/Linux 11 (bullseye)"},
                     {"version", host.index % 3 == 0 ? "12 (bookworm)" : "11 (bullseye)"},
                     {"version_codename", host.index % 3 == 0 ? "bookworm" : "bullseye"},
                     {"version_id", host.index % 3 == 0 ? "12" : "11"}});
      break;
    case kBuildInfo:
      out.push_back({{"branch", "debian/sid"},
                     {"goversion", "go1.19.8"},
                     {"revision", "1.5.0-1+b6"},
                     {"tags", "netgo osusergo static_build"},
                     {"version", "1.5.0"}});
      break;
    case kGoInfo:
      out.push_back({{"version", "go1.19.8"}});
      break;
    case kCode:
      for (const char* code : {"200", "500", "503"}) out.push_back({{"code", code}});
      break;
    case kCause:
      for (const char* cause : {"encoding", "gathering"}) out.push_back({{"cause", cause}});
      break;
    case kUdpQueues:
      for (const char* ip : {"v4", "v6"})
        for (const char* q : {"rx", "tx"}) out.push_back({{"ip", ip}, {"queue", q}});
      break;
    case kTimeZone:
      out.push_back({{"time_zone", "UTC"}});
      break;
    case kClocksource:
      out.push_back({{"clocksource", "kvm-clock"}, {"device", "0"}});
      break;
  }
  return out;
}

constexpr const char* kClusters[] = {"eu-west-1", "us-east-1", "ap-south-1"};
constexpr const char* kEnvs[] = {"prod", "prod", "staging", "dev"};

ValueKind KindOf(Shape shape) {
  switch (shape) {
    case kCounterInt:
    case kCounterSeconds:
    case kClockSeconds:
      return ValueKind::kCounter;
    case kConstOne:
    case kConstValue:
      return ValueKind::kConstant;
    default:
      return ValueKind::kGauge;
  }
}

}  // namespace

NodeExporterSeries NodeExporterSeries::Generate(int64_t count, uint64_t seed) {
  NodeExporterSeries set;
  set.series_.reserve(count);
  while (static_cast<int64_t>(set.series_.size()) < count) {
    const Host host = MakeHost(set.hosts_, seed);
    uint64_t offset_rng = seed ^ (0x51afd7ed558ccd6dULL * (host.index + 1));
    set.host_offset_ms_.push_back(static_cast<int64_t>(SplitMix(&offset_rng) % 15000));
    const std::string region = host.index % 2 ? "a" : "b";
    for (const Family& family : kFamilies) {
      for (Labels& labels : Expand(family, host)) {
        if (static_cast<int64_t>(set.series_.size()) >= count) break;
        labels.emplace_back("__name__", family.name);
        labels.emplace_back("instance", host.instance);
        labels.emplace_back("job", "node");
        labels.emplace_back("cluster", kClusters[host.index % 3]);
        labels.emplace_back("env", kEnvs[host.index % 4]);
        labels.emplace_back("zone", std::string(kClusters[host.index % 3]) + region);
        // Empty values mean "no label" in Prometheus's data model: they are not sent.
        std::erase_if(labels, [](const auto& l) { return l.second.empty(); });
        std::sort(labels.begin(), labels.end());
        Series s;
        s.kind = KindOf(family.shape);
        s.shape = family.shape;
        s.host = host.index;
        prometheus::TimeSeries ts;
        for (const auto& [name, value] : labels) {
          auto* l = ts.add_labels();
          l->set_name(name);
          l->set_value(value);
        }
        s.labels_pb = ts.SerializeAsString();
        s.labels = std::move(labels);
        set.series_.push_back(std::move(s));
      }
    }
    ++set.hosts_;
  }
  // Initial values and per-series rates.
  const size_t n = set.series_.size();
  set.values_.resize(n);
  set.rates_.resize(n);
  set.rng_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = Fnv1a(set.series_[i].labels_pb, seed * 0x9e3779b97f4a7c15ULL + 1);
    double& v = set.values_[i];
    double& rate = set.rates_[i];
    switch (set.series_[i].shape) {
      case kCounterInt:
        v = std::floor(Uniform(&r) * std::pow(10.0, 3 + 9 * Uniform(&r)));
        rate = Uniform(&r) < 0.35 ? 0 : std::pow(10.0, -2 + 7 * Uniform(&r));
        break;
      case kCounterSeconds:
        v = std::round(Uniform(&r) * 1e8) / 100;
        rate = Uniform(&r) < 0.2 ? 0 : Uniform(&r);
        break;
      case kClockSeconds:
        v = 1.7e9 + Uniform(&r) * 1e6;
        rate = 1;
        break;
      case kGaugeBytes:
        v = 4096 * std::floor(std::pow(2.0, 8 + 16 * Uniform(&r)));
        rate = std::floor(std::pow(10.0, 3 * Uniform(&r)));
        break;
      case kGaugeDecimal:
        v = std::round(Uniform(&r) * 6000) / 100;
        rate = 0.05 + Uniform(&r) * 0.5;
        break;
      case kGaugeFloat:
        v = Uniform(&r) * 0.05;
        rate = 0.1;
        break;
      case kGaugeInt:
        v = std::floor(Uniform(&r) * 500);
        rate = 1 + std::floor(Uniform(&r) * 5);
        break;
      case kConstOne:
        v = 1;
        break;
      case kConstValue:
        v = Uniform(&r) < 0.4 ? std::floor(Uniform(&r) * 3)
                              : 4096 * std::floor(std::pow(2.0, 4 + 20 * Uniform(&r)));
        break;
    }
    set.rng_[i] = r;
  }
  return set;
}

void NodeExporterSeries::Advance() {
  for (size_t i = 0; i < series_.size(); ++i) {
    uint64_t* r = &rng_[i];
    double& v = values_[i];
    const double rate = rates_[i];
    switch (series_[i].shape) {
      case kCounterInt:
        if (rate > 0) v += std::floor(rate * 15 * (0.5 + Uniform(r)));
        break;
      case kCounterSeconds:
        if (rate > 0) v = std::round((v + 15 * rate * (0.8 + 0.4 * Uniform(r))) * 100) / 100;
        break;
      case kClockSeconds:
        v += 15 + Uniform(r) * 0.002;
        break;
      case kGaugeBytes:
        v = std::max(0.0, v + 4096 * std::round(Normal(r) * rate));
        break;
      case kGaugeDecimal:
        v = std::max(0.0, std::round((v + Normal(r) * rate) * 100) / 100);
        break;
      case kGaugeFloat:
        v = std::abs(v + Normal(r) * rate * (v + 1e-4));
        break;
      case kGaugeInt:
        v = std::max(0.0, v + std::round(Normal(r) * rate));
        break;
      case kConstOne:
      case kConstValue:
        break;
    }
  }
}

double NodeExporterSeries::AverageLabels() const {
  if (series_.empty()) return 0;
  size_t total = 0;
  for (const Series& s : series_) total += s.labels.size();
  return static_cast<double>(total) / series_.size();
}

int64_t NodeExporterSeries::TimestampMs(size_t i, int scrape, int64_t start_ms,
                                        int64_t interval_ms) const {
  return start_ms + scrape * interval_ms + host_offset_ms_[series_[i].host] % interval_ms;
}

namespace {
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
}  // namespace

std::string BuildWriteRequest(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                              int scrape, int64_t start_ms, int64_t interval_ms) {
  std::string out;
  size_t estimate = 0;
  for (uint32_t i : indices) estimate += set.series(i).labels_pb.size() + 32;
  out.reserve(estimate);
  std::string sample;
  for (uint32_t i : indices) {
    // Sample: value (field 1, fixed64), timestamp (field 2, varint).
    sample.clear();
    sample.push_back(0x09);
    const double v = set.value(i);
    char bits[8];
    std::memcpy(bits, &v, 8);  // little-endian hosts only, as the wire
    sample.append(bits, 8);
    sample.push_back(0x10);
    PutVarint(&sample, static_cast<uint64_t>(set.TimestampMs(i, scrape, start_ms, interval_ms)));
    const std::string& labels = set.series(i).labels_pb;
    // TimeSeries: labels (field 1 entries, pre-encoded), one sample (field 2).
    const size_t ts_len = labels.size() + 1 + 1 + sample.size();
    out.push_back(0x0a);  // WriteRequest.timeseries
    PutVarint(&out, ts_len);
    out.append(labels);
    out.push_back(0x12);
    PutVarint(&out, sample.size());
    out.append(sample);
  }
  return out;
}

std::string BuildWriteRequestV2(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                                int scrape, int64_t start_ms, int64_t interval_ms) {
  // The symbol table of this request, as a 2.0 sender builds it: every distinct string once,
  // "" first.
  std::unordered_map<std::string_view, uint32_t> refs;
  std::vector<std::string_view> symbols = {""};
  refs.emplace("", 0);
  auto ref = [&](std::string_view s) {
    auto [it, added] = refs.emplace(s, static_cast<uint32_t>(symbols.size()));
    if (added) symbols.push_back(s);
    return it->second;
  };
  std::string series_bytes, packed, sample, ts;
  for (uint32_t i : indices) {
    packed.clear();
    for (const auto& [name, value] : set.series(i).labels) {
      PutVarint(&packed, ref(name));
      PutVarint(&packed, ref(value));
    }
    // Sample: value (1, fixed64), timestamp (2, varint).
    sample.clear();
    sample.push_back(0x09);
    const double v = set.value(i);
    char bits[8];
    std::memcpy(bits, &v, 8);
    sample.append(bits, 8);
    sample.push_back(0x10);
    PutVarint(&sample, static_cast<uint64_t>(set.TimestampMs(i, scrape, start_ms, interval_ms)));
    // TimeSeries: labels_refs (1, packed), one sample (2).
    ts.clear();
    ts.push_back(0x0a);
    PutVarint(&ts, packed.size());
    ts.append(packed);
    ts.push_back(0x12);
    PutVarint(&ts, sample.size());
    ts.append(sample);
    series_bytes.push_back(0x2a);  // Request.timeseries (5)
    PutVarint(&series_bytes, ts.size());
    series_bytes.append(ts);
  }
  std::string out;
  for (std::string_view s : symbols) {
    out.push_back(0x22);  // Request.symbols (4)
    PutVarint(&out, s.size());
    out.append(s);
  }
  out.append(series_bytes);
  return out;
}

namespace {
// Protobuf wire helpers for the OTLP request (field numbers from opentelemetry-proto).
void PutTag(std::string* out, int field, int wire_type) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}
void PutBytes(std::string* out, int field, std::string_view payload) {
  PutTag(out, field, 2);
  PutVarint(out, payload.size());
  out->append(payload);
}
void PutFixed64(std::string* out, int field, uint64_t v) {
  PutTag(out, field, 1);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
// KeyValue{key 1, value 2: AnyValue{string_value 1}}, as field `field` of its parent.
void PutStringAttribute(std::string* out, int field, std::string_view key, std::string_view value) {
  std::string any, kv;
  PutBytes(&any, 1, value);
  PutBytes(&kv, 1, key);
  PutBytes(&kv, 2, any);
  PutBytes(out, field, kv);
}
}  // namespace

bool IsTargetLabel(std::string_view name) {
  return name == "instance" || name == "job" || name == "cluster" || name == "env" ||
         name == "zone";
}

std::string BuildOtlpRequest(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                             int scrape, int64_t start_ms, int64_t interval_ms) {
  // Group the request's series by host (one ResourceMetrics each) and, inside, by metric name
  // (one Metric each), both in order of first appearance.
  struct MetricGroup {
    std::string_view name;
    ValueKind kind;
    std::vector<uint32_t> points;
  };
  struct HostGroup {
    uint32_t first;  // a series of the host: its target labels
    std::vector<MetricGroup> metrics;
    std::unordered_map<std::string_view, size_t> by_name;
  };
  std::vector<HostGroup> hosts;
  std::unordered_map<int, size_t> host_index;
  for (uint32_t i : indices) {
    const Series& series = set.series(i);
    auto [h, added] = host_index.emplace(series.host, hosts.size());
    if (added) hosts.push_back(HostGroup{i, {}, {}});
    HostGroup& host = hosts[h->second];
    const std::string_view name = series.labels.front().second;  // __name__ sorts first
    auto [m, new_metric] = host.by_name.emplace(name, host.metrics.size());
    if (new_metric) host.metrics.push_back(MetricGroup{name, series.kind, {}});
    host.metrics[m->second].points.push_back(i);
  }
  // The counters' start: one interval before the stream (a process started then).
  const uint64_t start_ns = static_cast<uint64_t>(start_ms - interval_ms) * 1000000;
  std::string out, resource_metrics, resource, scope_metrics, metric, data, point;
  for (const HostGroup& host : hosts) {
    // Resource: service.name = job, service.instance.id = instance (the translation's job and
    // instance), the other target labels as attributes (promoted to labels by the receiver).
    resource.clear();
    for (const auto& [name, value] : set.series(host.first).labels) {
      if (name == "job") {
        PutStringAttribute(&resource, 1, "service.name", value);
      } else if (name == "instance") {
        PutStringAttribute(&resource, 1, "service.instance.id", value);
      } else if (IsTargetLabel(name)) {
        PutStringAttribute(&resource, 1, name, value);
      }
    }
    scope_metrics.clear();
    for (const MetricGroup& m : host.metrics) {
      data.clear();
      for (uint32_t i : m.points) {
        // NumberDataPoint: attributes 7, start_time_unix_nano 2, time_unix_nano 3, as_double 4.
        point.clear();
        for (const auto& [name, value] : set.series(i).labels) {
          if (name != "__name__" && !IsTargetLabel(name)) {
            PutStringAttribute(&point, 7, name, value);
          }
        }
        if (m.kind == ValueKind::kCounter) PutFixed64(&point, 2, start_ns);
        PutFixed64(
            &point, 3,
            static_cast<uint64_t>(set.TimestampMs(i, scrape, start_ms, interval_ms)) * 1000000);
        const double v = set.value(i);
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        PutFixed64(&point, 4, bits);
        PutBytes(&data, 1, point);  // data_points
      }
      // Metric: name 1; gauge 5 {data_points 1}, or sum 7 {data_points 1,
      // aggregation_temporality 2 (CUMULATIVE = 2), is_monotonic 3}.
      metric.clear();
      PutBytes(&metric, 1, m.name);
      if (m.kind == ValueKind::kCounter) {
        PutTag(&data, 2, 0);
        PutVarint(&data, 2);
        PutTag(&data, 3, 0);
        PutVarint(&data, 1);
        PutBytes(&metric, 7, data);
      } else {
        PutBytes(&metric, 5, data);
      }
      PutBytes(&scope_metrics, 2, metric);  // ScopeMetrics.metrics (no scope)
    }
    // ResourceMetrics: resource 1, scope_metrics 2.
    resource_metrics.clear();
    PutBytes(&resource_metrics, 1, resource);
    PutBytes(&resource_metrics, 2, scope_metrics);
    PutBytes(&out, 1, resource_metrics);  // ExportMetricsServiceRequest.resource_metrics
  }
  return out;
}

int ShardOf(const Series& series, int shards) {
  return static_cast<int>(Fnv1a(series.labels_pb) % static_cast<uint64_t>(shards));
}

}  // namespace sprout::bench
