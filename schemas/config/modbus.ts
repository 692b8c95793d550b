// Config of the Modbus collector (section `collectors.modbus`). Owned by ingest/modbus.
import { Type, type Static } from '@sinclair/typebox'

export const ModbusCollectorSchema = Type.Object({
  devices: Type.Array(Type.Object({}), { default: [] }),
}, { additionalProperties: false, default: {} })

export type ModbusCollectorConfig = Static<typeof ModbusCollectorSchema>
