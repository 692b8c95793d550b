// How a Sparkplug `is_historical` metric is marked in fieldstream's output.
//
// Such a value is real data (store-and-forward replay after an outage) but it is not the
// current value of its tag: it must never become "latest" nor raise an alert. The flag
// travels in the vendor-specific high byte of the 16-bit quality word (OPC DA leaves bits
// 8-15 to vendors), so the point keeps its tag, its order in its device's batch and its OPC
// quality in the low byte; consumers test `quality & HISTORICAL_QUALITY_FLAG`.
// A separate batch source would have split one device's stream over two Kafka keys.

import { QualityFlag, isHistorical } from '../quality.js'

export const HISTORICAL_QUALITY_FLAG = QualityFlag.historical
export const isHistoricalQuality = isHistorical
