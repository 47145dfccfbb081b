// The Differentiated System Description Table: the AML namespace of nodevmm's platform. In ASL:
//
//   DefinitionBlock ("", "DSDT", 2, "NODEVM", "NVMMDSDT", 1) {
//     Name (_S5_, Package (0x04) { 0x05, 0x05, Zero, Zero })    // SLP_TYP 5 → Linux writes 0x34 to 0x600
//     Scope (\_SB_) {
//       Device (COM1) {                                           // only with a serial port
//         Name (_HID, EisaId ("PNP0501"))                         // 16550A-compatible
//         Name (_UID, Zero)
//         Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08) IRQNoFlags () {4} })
//       }
//       Device (RTC_) {                                           // the CMOS RTC at 0x70 (cmos.ts)
//         Name (_HID, EisaId ("PNP0B00"))                         // AT real-time clock
//         Name (_UID, Zero)
//         Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0070, 0x0070, 0x01, 0x02) })
//       }
//       Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
//       Device (GED_) {
//         Name (_HID, "ACPI0013")
//         Name (_UID, Zero)
//         Name (_CRS, ResourceTemplate () { Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 } })
//         OperationRegion (GDRG, SystemMemory, 0xFECFF000, 0x10)
//         Field (GDRG, DWordAcc, NoLock, Preserve) { GEVT, 32 }
//         Method (_EVT, 1, Serialized) {
//           Local0 = GEVT                                         // one read: returns and clears (ged.ts)
//           If ((Local0 & One)) { Notify (\_SB_.PWRB, 0x80) }    // power button pressed
//         }
//       }
//     }
//   }
//
// The RTC is described because the FADT is hardware-reduced: Linux then has no legacy PIC, so ISA
// IRQ 8 is not mapped, and the platform device arch/x86/kernel/rtc.c registers when no PNP0B00 exists
// (ports 0x70-0x71 and IRQ 8) fails in rtc-cmos's request_irq(8) with -EINVAL. Found as a PNP device
// without an IRQ, rtc-cmos runs the clock without alarm interrupts, which our CMOS does not raise
// (register C reads 0). Real firmware and QEMU describe the RTC the same way (QEMU adds IRQNoFlags {8}).
//
// The revision-2 block makes AML integers 64 bits wide. The GED interrupt is declared edge-triggered,
// like QEMU's and Cloud Hypervisor's, so it needs no MADT override (ISA IRQ 5 is edge, active high too).
import { Irq, Mmio, Pio } from '../devices/addresses.js';
import { GedEvent, GedRegister } from '../devices/ged.js';
import {
  and,
  device,
  eisaId,
  field,
  FieldAccess,
  FieldUpdate,
  ifThen,
  integer,
  interrupt,
  io,
  irqNoFlags,
  local,
  memory32Fixed,
  method,
  name,
  notify,
  operationRegion,
  pkg,
  ref,
  RegionSpace,
  resourceTemplate,
  scope,
  store,
  string,
  Zero,
  concat,
  type Aml,
} from './aml.js';
import { sdt } from './sdt.js';

/** 2: integers are 64-bit. */
export const DSDT_REVISION = 2;

/** SLP_TYPa/SLP_TYPb for S5; AcpiSleepReset powers off on SLP_TYP 5 with SLP_EN. */
export const S5_SLEEP_TYPE = 5;
/** Notify value for a power button device: "button pressed" (ACPI 6.x §5.6.6). */
export const NOTIFY_BUTTON_PRESSED = 0x80;

export interface DsdtOptions {
  /** describe COM1 (0x3F8, IRQ 4) */
  serial: boolean;
  /** describe the power button and the GED that reports it (default true) */
  powerButton?: boolean;
  /** virtio-mmio devices: each a Device (VRnn) with _HID "LNRO0005", its window and its interrupt */
  virtio?: readonly VirtioMmioPlacement[];
}

export interface VirtioMmioPlacement {
  base: number;
  length: number;
  gsi: number;
}

export const DsdtPath = {
  S5: '_S5_',
  SYSTEM_BUS: '\\_SB_',
  COM1: 'COM1',
  RTC: 'RTC_',
  POWER_BUTTON: 'PWRB',
  POWER_BUTTON_ABSOLUTE: '\\_SB_.PWRB',
  GED: 'GED_',
  GED_REGION: 'GDRG',
  GED_EVENT_FIELD: 'GEVT',
} as const;

function com1(): Aml {
  const crs = resourceTemplate(
    io({ min: Pio.SERIAL_COM1, max: Pio.SERIAL_COM1, alignment: 0, length: Pio.SERIAL_LENGTH }),
    irqNoFlags(Irq.SERIAL_COM1),
  );
  return device(DsdtPath.COM1, name('_HID', eisaId('PNP0501')), name('_UID', Zero), name('_CRS', crs));
}

function rtc(): Aml {
  const crs = resourceTemplate(io({ min: Pio.CMOS_START, max: Pio.CMOS_START, alignment: 1, length: Pio.CMOS_LENGTH }));
  return device(DsdtPath.RTC, name('_HID', eisaId('PNP0B00')), name('_UID', Zero), name('_CRS', crs));
}

function powerButton(): Aml {
  return device(DsdtPath.POWER_BUTTON, name('_HID', eisaId('PNP0C0C')), name('_UID', Zero));
}

function ged(): Aml {
  const crs = resourceTemplate(interrupt({ edge: true, activeLow: false }, Irq.GED));
  const event = local(0);
  return device(
    DsdtPath.GED,
    name('_HID', string('ACPI0013')),
    name('_UID', Zero),
    name('_CRS', crs),
    operationRegion(DsdtPath.GED_REGION, RegionSpace.SystemMemory, Mmio.GED_BASE, Mmio.GED_LENGTH),
    field(DsdtPath.GED_REGION, { access: FieldAccess.DWordAcc, lock: false, update: FieldUpdate.Preserve }, [
      ...(GedRegister.EVT > 0 ? [{ skip: 8 * GedRegister.EVT }] : []),
      { name: DsdtPath.GED_EVENT_FIELD, bits: 32 },
    ]),
    // Read EVT once into a local: the read clears the bits it returns, so a second read would miss them.
    method(
      '_EVT',
      1,
      true,
      store(ref(DsdtPath.GED_EVENT_FIELD), event),
      ifThen(
        and(event, integer(GedEvent.POWER_BUTTON)),
        notify(ref(DsdtPath.POWER_BUTTON_ABSOLUTE), integer(NOTIFY_BUTTON_PRESSED)),
      ),
    ),
  );
}

// Linux's virtio_mmio driver binds to LNRO0005 (Debian builds it without command-line devices), as
// Firecracker describes its devices on x86. Edge-triggered: the devices pulse their irqfd.
function virtioMmio(index: number, { base, length, gsi }: VirtioMmioPlacement): Aml {
  const crs = resourceTemplate(memory32Fixed(true, base, length), interrupt({ edge: true, activeLow: false }, gsi));
  return device(`VR${index.toString(16).toUpperCase().padStart(2, '0')}`, name('_HID', string('LNRO0005')), name('_UID', integer(index)), name('_CRS', crs));
}

/** The DSDT's AML, without the table header. */
export function buildDsdtAml({ serial, powerButton: withPowerButton = true, virtio = [] }: DsdtOptions): Aml {
  const devices: Aml[] = [];
  if (serial) devices.push(com1());
  devices.push(rtc());
  if (withPowerButton) devices.push(powerButton(), ged());
  virtio.forEach((placement, i) => devices.push(virtioMmio(i, placement)));
  const s5 = name(DsdtPath.S5, pkg(integer(S5_SLEEP_TYPE), integer(S5_SLEEP_TYPE), Zero, Zero));
  return concat(s5, scope(DsdtPath.SYSTEM_BUS, ...devices));
}

export function buildDsdt(options: DsdtOptions): Uint8Array {
  return sdt({ signature: 'DSDT', revision: DSDT_REVISION, oemTableId: 'NVMMDSDT' }, buildDsdtAml(options));
}

