// ECharts for the 数据统计 pages, only the parts they draw (bar and line charts on a canvas) so the bundle
// stays small, and the options of their charts.
import * as echarts from 'echarts/core'
import { BarChart, LineChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent, MarkLineComponent } from 'echarts/components'
import { LabelLayout } from 'echarts/features'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, MarkLineComponent, LabelLayout,
  CanvasRenderer])

export { echarts }

const FONT = "'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif"
export const DOSE_COLORS = ['#409eff', '#67c23a', '#e6a23c']

/** "37.62%" / 37.62 / null → 37.62 (or null). */
export function percentValue(value) {
  if (value === null || value === undefined || value === '') return null
  const n = typeof value === 'number' ? value : parseFloat(String(value))
  return Number.isFinite(n) ? n : null
}

const percentAxis = {
  type: 'value',
  min: 0,
  max: 100,
  axisLabel: { formatter: '{value}%', fontFamily: FONT },
  splitLine: { lineStyle: { color: '#ebeef5' } },
}

/** Town names on the x axis: all of them shown, two characters a line when they are many. */
function categoryAxis(names) {
  return {
    type: 'category',
    data: names,
    axisTick: { alignWithLabel: true },
    axisLabel: {
      interval: 0,
      fontFamily: FONT,
      fontSize: 12,
      formatter: (v) => (names.length > 6 && v.length > 3 ? `${v.slice(0, Math.ceil(v.length / 2))}\n${v.slice(Math.ceil(v.length / 2))}` : v),
    },
  }
}

const tooltipBase = { trigger: 'axis', axisPointer: { type: 'shadow' }, textStyle: { fontFamily: FONT } }

/** 各镇街核酸检测覆盖率: one bar per town (NatRow.coverage_value), 合计 as a dashed line. */
export function natCoverageByTown(rows, total) {
  const names = rows.map((r) => r.town)
  const overall = percentValue(total?.coverage_value ?? total?.coverage)
  return {
    textStyle: { fontFamily: FONT },
    grid: { left: 48, right: overall === null ? 24 : 64, top: 30, bottom: 8, containLabel: true },
    tooltip: {
      ...tooltipBase,
      formatter: (items) => {
        const it = items[0]
        const row = rows[it.dataIndex]
        return `${it.name}<br/>覆盖率：${row.coverage}<br/>核酸检测人数：${row.tested} / 人员数量：${row.people}`
      },
    },
    xAxis: categoryAxis(names),
    yAxis: { ...percentAxis, name: '覆盖率', nameTextStyle: { fontFamily: FONT } },
    series: [
      {
        name: '覆盖率',
        type: 'bar',
        barMaxWidth: 36,
        data: rows.map((r) => percentValue(r.coverage_value ?? r.coverage)),
        itemStyle: { color: '#409eff', borderRadius: [3, 3, 0, 0] },
        label: { show: true, position: 'top', formatter: '{c}%', fontSize: 11 },
        markLine:
          overall === null
            ? undefined
            : {
                symbol: 'none',
                silent: true,
                lineStyle: { type: 'dashed', color: '#f56c6c' },
                label: { formatter: `合计\n${overall}%`, position: 'end', color: '#f56c6c', lineHeight: 15 },
                data: [{ yAxis: overall }],
              },
      },
    ],
  }
}

/** 近14天每日覆盖率: `daily` oldest first ({day, people, tested, coverage}). */
export function natDailyCoverage(daily) {
  return {
    textStyle: { fontFamily: FONT },
    grid: { left: 48, right: 24, top: 30, bottom: 8, containLabel: true },
    tooltip: {
      trigger: 'axis',
      textStyle: { fontFamily: FONT },
      formatter: (items) => {
        const d = daily[items[0].dataIndex]
        const pct = percentValue(d.coverage)
        return `${d.day}<br/>覆盖率：${pct === null ? '暂无' : `${pct.toFixed(2)}%`}<br/>核酸检测人数：${d.tested} / 人员数量：${d.people}`
      },
    },
    xAxis: {
      type: 'category',
      boundaryGap: false,
      data: daily.map((d) => String(d.day).slice(5)),
      axisLabel: { fontFamily: FONT, fontSize: 12 },
    },
    yAxis: { ...percentAxis, name: '覆盖率', nameTextStyle: { fontFamily: FONT } },
    series: [
      {
        name: '每日覆盖率',
        type: 'line',
        smooth: false,
        symbolSize: 7,
        data: daily.map((d) => percentValue(d.coverage)),
        itemStyle: { color: '#67c23a' },
        areaStyle: { color: 'rgba(103, 194, 58, 0.12)' },
        // the day's rate over its point, none on a day nobody was tested, none where two would overlap
        label: { show: true, position: 'top', formatter: (p) => (p.value ? `${p.value}%` : ''), fontSize: 11 },
        labelLayout: { hideOverlap: true },
      },
    ],
  }
}

/** 各镇街疫苗接种完成率: three bars a town (第一针 / 第二针 / 第三针, VaxRow.doses[].rate_value). */
export function vaccineRatesByTown(rows, doseLabels) {
  const names = rows.map((r) => r.town)
  const rate = (row, dose) => {
    const d = (row.doses || []).find((x) => x.dose === dose)
    return d ? percentValue(d.rate_value ?? d.rate) : null
  }
  return {
    textStyle: { fontFamily: FONT },
    grid: { left: 48, right: 24, top: 40, bottom: 8, containLabel: true },
    legend: { top: 0, textStyle: { fontFamily: FONT } },
    tooltip: { ...tooltipBase, valueFormatter: (v) => (v === null || v === undefined ? '暂无' : `${v}%`) },
    xAxis: categoryAxis(names),
    yAxis: { ...percentAxis, name: '完成率', nameTextStyle: { fontFamily: FONT } },
    series: [1, 2, 3].map((dose, i) => ({
      name: doseLabels[i],
      type: 'bar',
      barMaxWidth: rows.length <= 4 ? 48 : 22,
      barGap: '10%',
      data: rows.map((r) => rate(r, dose)),
      itemStyle: { color: DOSE_COLORS[i], borderRadius: [2, 2, 0, 0] },
      // the rates on the bars while they have room (a few towns: a town user, a small category)
      label: { show: rows.length <= 4, position: 'top', formatter: '{c}%', fontSize: 10 },
    })),
  }
}
