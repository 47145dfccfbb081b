import test from 'ava';
import { PciNoDevices } from '../../../src/devices/pci-none.js';
import { PioBus } from '../../../src/devices/bus.js';
import { Pio } from '../../../src/devices/addresses.js';

function setup() {
  const pci = new PciNoDevices();
  const bus = new PioBus();
  bus.register(Pio.PCI_CONFIG_ADDRESS, Pio.PCI_CONFIG_LENGTH, pci);
  return { pci, bus };
}

test("Linux's mechanism #1 probe finds the address register", (t) => {
  const { bus } = setup();
  bus.write(0xcfb, 1, 0x01);
  bus.write(0xcf8, 4, 0x8000_0000);
  t.is(bus.read(0xcf8, 4), 0x8000_0000);
});

test('configuration reads find no device at any address', (t) => {
  const { bus } = setup();
  for (const address of [0x8000_0000, 0x8000_0800, 0x8001_f800 | 0x3c]) {
    bus.write(0xcf8, 4, address);
    t.is(bus.read(0xcfc, 4), 0xffff_ffff);
    t.is(bus.read(0xcfe, 2), 0xffff);
    t.is(bus.read(0xcff, 1), 0xff);
  }
  bus.write(0xcfc, 4, 0x1234);
  t.is(bus.read(0xcfc, 4), 0xffff_ffff, 'writes to a missing function vanish');
});

test('reserved address bits read 0; narrow accesses do not touch the address register', (t) => {
  const { bus } = setup();
  bus.write(0xcf8, 4, 0xffff_ffff);
  t.is(bus.read(0xcf8, 4), 0x80ff_fffc);
  bus.write(0xcf8, 1, 0x00);
  bus.write(0xcfa, 2, 0x0000);
  t.is(bus.read(0xcf8, 4), 0x80ff_fffc);
  t.is(bus.read(0xcf8, 1), 0xff, 'mechanism #2 probe reads all ones: no such mechanism');
});

test('the address register is shared between instances', (t) => {
  const { pci, bus } = setup();
  const other = new PciNoDevices({}, pci.state);
  bus.write(0xcf8, 4, 0x8000_1000);
  t.is(other.read(0, 4), 0x8000_1000);
});
