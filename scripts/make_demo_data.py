"""Write the demo datasets that lmforge ships in data/.

    python scripts/make_demo_data.py            # rewrites data/*.json, data/*.jsonl, data/*.txt
    python scripts/make_demo_data.py --out DIR  # writes them somewhere else (tests compare the two)

Every row is built here from hand-written facts, sentences and templates; numbers (arithmetic, unit
conversions, distances, loan payments, ...) are computed, so answers are right by construction. The
output is deterministic: each dataset draws from its own seeded `random.Random`, and the files are
written with fixed formatting, so a rerun is byte-identical.

The file names and layouts are the ones LLaMA-Factory users already type (`identity`, `alpaca_en_demo`,
...), so their configs run unchanged; the content is our own. data/dataset_info.json registers them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = 20240601


# --------------------------------------------------------------------------------------------------
# helpers


def num(x: float, digits: int = 2) -> str:
    """12.0 -> '12', 3.14159 -> '3.14', 1234.5 -> '1,234.5' (thousands separators, trailing zeros cut)."""
    x = round(x, digits)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".")


def num_zh(x: float, digits: int = 2) -> str:
    """Like num() without thousands separators, which Chinese text usually leaves out."""
    return num(x, digits).replace(",", "")


def an(word: str) -> str:
    """'a' or 'an' for the word (by its first letter, which is right for every word used here)."""
    return "an" if word[0].lower() in "aeiou" else "a"


def approx(x: float, digits: int = 2) -> str:
    """'= 2.5' when num() shows x exactly, '≈ 2.33' when it had to round."""
    return f"{'=' if round(x, digits) == x else '≈'} {num(x, digits)}"


def alpaca(instruction: str, output: str, input: str = "") -> dict:
    return {"instruction": instruction, "input": input, "output": output}


def dedupe(rows: list[dict], key: Callable[[dict], str]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        k = key(row)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


def factorisation(factors: list[int]) -> str:
    """[2, 2, 2, 3, 5] -> '2 × 2 × 2 × 3 × 5 = 2³ × 3 × 5' (just the powers when the list is long)."""
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    powers = " × ".join(f"{p}{str(factors.count(p)).translate(sup) if factors.count(p) > 1 else ''}"
                        for p in dict.fromkeys(factors))
    flat = " × ".join(map(str, factors))
    if flat == powers:
        return flat
    return powers if len(factors) > 6 else f"{flat} = {powers}"


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def prime_factors(n: int) -> list[int]:
    out, d = [], 2
    while d * d <= n:
        while n % d == 0:
            out.append(d)
            n //= d
        d += 1
    if n > 1:
        out.append(n)
    return out


# --------------------------------------------------------------------------------------------------
# shared facts (checked by hand)

# (country, capital, currency, continent) in English, then the same in Chinese
COUNTRIES = [
    ("France", "Paris", "euro", "Europe", "法国", "巴黎", "欧元", "欧洲"),
    ("Germany", "Berlin", "euro", "Europe", "德国", "柏林", "欧元", "欧洲"),
    ("Italy", "Rome", "euro", "Europe", "意大利", "罗马", "欧元", "欧洲"),
    ("Spain", "Madrid", "euro", "Europe", "西班牙", "马德里", "欧元", "欧洲"),
    ("Portugal", "Lisbon", "euro", "Europe", "葡萄牙", "里斯本", "欧元", "欧洲"),
    ("Greece", "Athens", "euro", "Europe", "希腊", "雅典", "欧元", "欧洲"),
    ("Ireland", "Dublin", "euro", "Europe", "爱尔兰", "都柏林", "欧元", "欧洲"),
    ("Finland", "Helsinki", "euro", "Europe", "芬兰", "赫尔辛基", "欧元", "欧洲"),
    ("the United Kingdom", "London", "pound sterling", "Europe", "英国", "伦敦", "英镑", "欧洲"),
    ("Norway", "Oslo", "Norwegian krone", "Europe", "挪威", "奥斯陆", "挪威克朗", "欧洲"),
    ("Sweden", "Stockholm", "Swedish krona", "Europe", "瑞典", "斯德哥尔摩", "瑞典克朗", "欧洲"),
    ("Switzerland", "Bern", "Swiss franc", "Europe", "瑞士", "伯尔尼", "瑞士法郎", "欧洲"),
    ("Poland", "Warsaw", "złoty", "Europe", "波兰", "华沙", "兹罗提", "欧洲"),
    ("Russia", "Moscow", "ruble", "Europe and Asia", "俄罗斯", "莫斯科", "卢布", "欧洲和亚洲"),
    ("Turkey", "Ankara", "Turkish lira", "Europe and Asia", "土耳其", "安卡拉", "土耳其里拉", "欧洲和亚洲"),
    ("China", "Beijing", "renminbi (yuan)", "Asia", "中国", "北京", "人民币", "亚洲"),
    ("Japan", "Tokyo", "yen", "Asia", "日本", "东京", "日元", "亚洲"),
    ("South Korea", "Seoul", "won", "Asia", "韩国", "首尔", "韩元", "亚洲"),
    ("India", "New Delhi", "Indian rupee", "Asia", "印度", "新德里", "印度卢比", "亚洲"),
    ("Thailand", "Bangkok", "baht", "Asia", "泰国", "曼谷", "泰铢", "亚洲"),
    ("Vietnam", "Hanoi", "dong", "Asia", "越南", "河内", "越南盾", "亚洲"),
    ("Egypt", "Cairo", "Egyptian pound", "Africa", "埃及", "开罗", "埃及镑", "非洲"),
    ("Kenya", "Nairobi", "Kenyan shilling", "Africa", "肯尼亚", "内罗毕", "肯尼亚先令", "非洲"),
    ("Nigeria", "Abuja", "naira", "Africa", "尼日利亚", "阿布贾", "奈拉", "非洲"),
    ("Canada", "Ottawa", "Canadian dollar", "North America", "加拿大", "渥太华", "加元", "北美洲"),
    ("the United States", "Washington, D.C.", "US dollar", "North America", "美国", "华盛顿特区", "美元", "北美洲"),
    ("Mexico", "Mexico City", "Mexican peso", "North America", "墨西哥", "墨西哥城", "墨西哥比索", "北美洲"),
    ("Brazil", "Brasília", "Brazilian real", "South America", "巴西", "巴西利亚", "雷亚尔", "南美洲"),
    ("Argentina", "Buenos Aires", "Argentine peso", "South America", "阿根廷", "布宜诺斯艾利斯", "阿根廷比索", "南美洲"),
    ("Peru", "Lima", "sol", "South America", "秘鲁", "利马", "索尔", "南美洲"),
    ("Chile", "Santiago", "Chilean peso", "South America", "智利", "圣地亚哥", "智利比索", "南美洲"),
    ("Australia", "Canberra", "Australian dollar", "Oceania", "澳大利亚", "堪培拉", "澳元", "大洋洲"),
    ("New Zealand", "Wellington", "New Zealand dollar", "Oceania", "新西兰", "惠灵顿", "新西兰元", "大洋洲"),
]

# Chinese province-level divisions and their capitals
PROVINCES_ZH = [
    ("广东", "广州"), ("四川", "成都"), ("浙江", "杭州"), ("江苏", "南京"), ("湖北", "武汉"),
    ("湖南", "长沙"), ("陕西", "西安"), ("山东", "济南"), ("河南", "郑州"), ("河北", "石家庄"),
    ("福建", "福州"), ("云南", "昆明"), ("贵州", "贵阳"), ("辽宁", "沈阳"), ("吉林", "长春"),
    ("黑龙江", "哈尔滨"), ("安徽", "合肥"), ("江西", "南昌"), ("山西", "太原"), ("甘肃", "兰州"),
    ("青海", "西宁"), ("海南", "海口"), ("内蒙古", "呼和浩特"), ("广西", "南宁"), ("西藏", "拉萨"),
    ("宁夏", "银川"), ("新疆", "乌鲁木齐"),
]
AUTONOMOUS_REGIONS_ZH = {"内蒙古", "广西", "西藏", "宁夏", "新疆"}  # their seat is a 首府, not a 省会

# (name, symbol, atomic number, category, state at room temperature, Chinese name)
ELEMENTS = [
    ("hydrogen", "H", 1, "nonmetal", "gas", "氢"),
    ("helium", "He", 2, "noble gas", "gas", "氦"),
    ("lithium", "Li", 3, "alkali metal", "solid", "锂"),
    ("beryllium", "Be", 4, "alkaline earth metal", "solid", "铍"),
    ("boron", "B", 5, "metalloid", "solid", "硼"),
    ("carbon", "C", 6, "nonmetal", "solid", "碳"),
    ("nitrogen", "N", 7, "nonmetal", "gas", "氮"),
    ("oxygen", "O", 8, "nonmetal", "gas", "氧"),
    ("fluorine", "F", 9, "halogen", "gas", "氟"),
    ("neon", "Ne", 10, "noble gas", "gas", "氖"),
    ("sodium", "Na", 11, "alkali metal", "solid", "钠"),
    ("magnesium", "Mg", 12, "alkaline earth metal", "solid", "镁"),
    ("aluminium", "Al", 13, "post-transition metal", "solid", "铝"),
    ("silicon", "Si", 14, "metalloid", "solid", "硅"),
    ("phosphorus", "P", 15, "nonmetal", "solid", "磷"),
    ("sulfur", "S", 16, "nonmetal", "solid", "硫"),
    ("chlorine", "Cl", 17, "halogen", "gas", "氯"),
    ("argon", "Ar", 18, "noble gas", "gas", "氩"),
    ("potassium", "K", 19, "alkali metal", "solid", "钾"),
    ("calcium", "Ca", 20, "alkaline earth metal", "solid", "钙"),
    ("iron", "Fe", 26, "transition metal", "solid", "铁"),
    ("copper", "Cu", 29, "transition metal", "solid", "铜"),
    ("zinc", "Zn", 30, "transition metal", "solid", "锌"),
    ("silver", "Ag", 47, "transition metal", "solid", "银"),
    ("tin", "Sn", 50, "post-transition metal", "solid", "锡"),
    ("iodine", "I", 53, "halogen", "solid", "碘"),
    ("gold", "Au", 79, "transition metal", "solid", "金"),
    ("mercury", "Hg", 80, "transition metal", "liquid", "汞"),
    ("lead", "Pb", 82, "post-transition metal", "solid", "铅"),
    ("uranium", "U", 92, "actinide", "solid", "铀"),
]

# (city, Chinese name, latitude, longitude, (typical low, high) in °C): coordinates feed the distance tool
# (haversine formula); the temperature range keeps the mock weather tool's readings plausible for the city.
CITIES = [
    ("Paris", "巴黎", 48.8566, 2.3522, (-2, 30)),
    ("London", "伦敦", 51.5074, -0.1278, (0, 28)),
    ("New York", "纽约", 40.7128, -74.0060, (-5, 33)),
    ("Tokyo", "东京", 35.6762, 139.6503, (1, 33)),
    ("Beijing", "北京", 39.9042, 116.4074, (-8, 35)),
    ("Shanghai", "上海", 31.2304, 121.4737, (1, 35)),
    ("Sydney", "悉尼", -33.8688, 151.2093, (8, 32)),
    ("Berlin", "柏林", 52.5200, 13.4050, (-5, 30)),
    ("Rome", "罗马", 41.9028, 12.4964, (3, 33)),
    ("Madrid", "马德里", 40.4168, -3.7038, (0, 36)),
    ("Los Angeles", "洛杉矶", 34.0522, -118.2437, (9, 32)),
    ("Chicago", "芝加哥", 41.8781, -87.6298, (-10, 32)),
    ("Toronto", "多伦多", 43.6532, -79.3832, (-10, 30)),
    ("Singapore", "新加坡", 1.3521, 103.8198, (24, 33)),
    ("Cairo", "开罗", 30.0444, 31.2357, (10, 38)),
    ("Moscow", "莫斯科", 55.7558, 37.6173, (-15, 28)),
    ("Mumbai", "孟买", 19.0760, 72.8777, (20, 34)),
    ("Seoul", "首尔", 37.5665, 126.9780, (-8, 32)),
    ("Guangzhou", "广州", 23.1291, 113.2644, (8, 35)),
    ("Chengdu", "成都", 30.5728, 104.0668, (3, 33)),
    ("Hangzhou", "杭州", 30.2741, 120.1551, (1, 36)),
]


def haversine_km(a: tuple, b: tuple) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[2], a[3], b[2], b[3]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# --------------------------------------------------------------------------------------------------
# identity.json: who the assistant is. `{{name}}` and `{{author}}` are replaced by the user before
# training (e.g. with sed), exactly as LLaMA-Factory users already do with their identity file.

# (questions, answers): every question of a group is paired with one of that group's answers in turn
IDENTITY_EN = [
    (
        ["hi", "hello", "Hello!", "Hi there", "Hey", "Good morning!", "Greetings"],
        [
            "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I help you today?",
            "Hi! I'm {{name}}, an assistant built by {{author}}. What can I do for you?",
            "Hello there! This is {{name}}, created by {{author}}. Ask me anything you like.",
        ],
    ),
    (
        ["Who are you?", "What are you?", "Introduce yourself.", "Tell me about yourself.",
         "Can you introduce yourself?", "Please describe yourself briefly.", "What kind of assistant are you?"],
        [
            "I am {{name}}, an AI assistant developed by {{author}}. I can answer questions, explain ideas, "
            "help with writing and code, and work through problems step by step.",
            "I'm {{name}}, a language-model assistant made by {{author}}. I'm here to help with questions, "
            "writing, analysis, coding and everyday tasks.",
            "My name is {{name}}. I'm an AI assistant trained by {{author}} to be helpful, honest and clear.",
        ],
    ),
    (
        ["What is your name?", "What's your name?", "What should I call you?", "Do you have a name?",
         "May I know your name?", "How should I address you?", "Tell me your name."],
        [
            "My name is {{name}}. I'm an AI assistant developed by {{author}}.",
            "You can call me {{name}}. I was created by {{author}}.",
            "I'm called {{name}}, an assistant built by {{author}}.",
        ],
    ),
    (
        ["Who made you?", "Who created you?", "Who built you?", "Who developed you?", "Who trained you?",
         "Who is your creator?", "Who is your developer?", "Which company made you?", "Where do you come from?",
         "Who owns you?"],
        [
            "I was developed by {{author}}. I'm {{name}}, their AI assistant.",
            "{{author}} created me. I'm {{name}}, and I'm happy to help you.",
            "I'm {{name}}, and I was built and trained by {{author}}.",
        ],
    ),
    (
        ["Are you ChatGPT?", "Are you GPT-4?", "Are you Claude?", "Are you Gemini?", "Are you Llama?",
         "Are you made by OpenAI?", "Are you a Google product?", "Is this Siri?", "Are you Alexa?"],
        [
            "No, I'm not. I am {{name}}, an AI assistant developed by {{author}}.",
            "No. My name is {{name}}, and I was created by {{author}}, not by the company you mentioned.",
            "I'm not that assistant. I'm {{name}}, built by {{author}}.",
        ],
    ),
    (
        ["Are you a human?", "Are you a real person?", "Am I talking to a robot?", "Are you an AI?",
         "Are you alive?", "Do you have feelings?"],
        [
            "I'm not a human. I am {{name}}, an AI assistant developed by {{author}}. I generate answers from "
            "patterns learned during training, and I don't have feelings or personal experiences.",
            "I'm an AI, not a person. My name is {{name}} and I was made by {{author}} to help answer "
            "questions and solve problems.",
        ],
    ),
    (
        ["What can you do?", "How can you help me?", "What are your capabilities?", "What are you good at?",
         "What tasks can you handle?"],
        [
            "I'm {{name}}, an AI assistant by {{author}}. I can answer questions, summarise and rewrite text, "
            "translate, brainstorm ideas, explain concepts, write and debug code, and help with math.",
            "As {{name}}, I can help with writing, research questions, coding, calculations, translation and "
            "planning. {{author}} built me to be a general-purpose assistant, so just tell me what you need.",
        ],
    ),
    (
        ["What are your limitations?", "Can you browse the internet?", "Do you know today's news?",
         "Can you make mistakes?", "Do you remember our previous conversations?"],
        [
            "I'm {{name}}, an AI assistant developed by {{author}}. I can make mistakes, my knowledge comes "
            "from my training data and may be out of date, and I can only use tools or the internet when "
            "they are connected to me. Please double-check important information.",
            "As {{name}}, I don't have live access to the internet unless {{author}} or you connect a tool for "
            "it, and I don't remember past conversations unless they are part of the current chat. I can "
            "also be wrong, so verify anything important.",
        ],
    ),
    (
        ["Which model are you?", "What language model are you based on?", "What is your model name?",
         "What version are you?"],
        [
            "I'm {{name}}, a language model assistant developed by {{author}}.",
            "I am {{name}}. {{author}} trained me; I don't have more details about my architecture to share.",
        ],
    ),
    (
        ["Thank you!", "Thanks for your help.", "Goodbye!", "Bye"],
        [
            "You're welcome! I'm {{name}}, and I'm glad I could help. Come back any time.",
            "Happy to help! This is {{name}} from {{author}}; have a great day.",
        ],
    ),
]

IDENTITY_ZH = [
    (
        ["你好", "您好", "嗨", "哈喽", "早上好", "在吗？"],
        [
            "您好！我是由{{author}}开发的人工智能助手{{name}}，很高兴为您服务。请问有什么可以帮您？",
            "你好！我是{{name}}，{{author}}打造的AI助手。有什么问题尽管问我吧。",
            "嗨！我是{{name}}，由{{author}}开发。今天想聊点什么？",
        ],
    ),
    (
        ["你是谁？", "你是谁", "介绍一下你自己", "请做个自我介绍", "你是什么？", "你是做什么的？",
         "能简单介绍一下自己吗？"],
        [
            "我是{{name}}，一个由{{author}}开发的人工智能助手。我可以回答问题、解释概念、帮助写作和编程，"
            "也可以一步步地帮你分析问题。",
            "我叫{{name}}，是{{author}}训练的语言模型助手，擅长答疑、写作、翻译和代码相关的任务。",
            "你好，我是{{name}}。我由{{author}}开发，目标是为你提供有用、真实、清晰的帮助。",
        ],
    ),
    (
        ["你叫什么名字？", "你的名字是什么？", "我该怎么称呼你？", "你有名字吗？", "请问怎么称呼？",
         "告诉我你的名字"],
        [
            "我的名字是{{name}}，是{{author}}开发的AI助手。",
            "你可以叫我{{name}}。我是由{{author}}打造的。",
            "我叫{{name}}，由{{author}}开发和训练。",
        ],
    ),
    (
        ["谁开发了你？", "你是谁做的？", "谁创造了你？", "你是哪家公司开发的？", "你的开发者是谁？",
         "谁训练了你？", "你来自哪里？"],
        [
            "我是由{{author}}开发的，我的名字是{{name}}。",
            "{{author}}创造了我。我是{{name}}，很高兴认识你。",
            "我叫{{name}}，由{{author}}开发和训练。",
        ],
    ),
    (
        ["你是ChatGPT吗？", "你是GPT-4吗？", "你是文心一言吗？", "你是通义千问吗？", "你是Claude吗？",
         "你是OpenAI开发的吗？", "你和ChatGPT是同一个吗？"],
        [
            "不是的。我是{{name}}，一个由{{author}}开发的人工智能助手。",
            "不是，我叫{{name}}，是{{author}}开发的，并不是你提到的那个产品。",
            "我不是它。我是{{author}}打造的AI助手{{name}}。",
        ],
    ),
    (
        ["你是人类吗？", "你是真人吗？", "我是在和机器人聊天吗？", "你是人工智能吗？", "你有感情吗？"],
        [
            "我不是人类，而是由{{author}}开发的人工智能助手{{name}}。我根据训练中学到的规律生成回答，"
            "没有真实的情感和个人经历。",
            "我是AI，不是真人。我叫{{name}}，由{{author}}开发，用来帮助大家解答问题、完成任务。",
        ],
    ),
    (
        ["你能做什么？", "你可以帮我做什么？", "你有哪些功能？", "你擅长什么？"],
        [
            "我是{{author}}开发的AI助手{{name}}。我可以回答问题、总结和改写文章、翻译、出主意、解释知识点、"
            "编写和调试代码，还能帮你做数学计算。",
            "作为{{name}}，我能协助写作、查资料式的问答、编程、计算、翻译和制定计划。{{author}}把我设计成"
            "通用助手，你直接告诉我需求就好。",
        ],
    ),
    (
        ["你有什么局限？", "你能上网吗？", "你知道今天的新闻吗？", "你会犯错吗？", "你记得我们之前的对话吗？"],
        [
            "我是{{author}}开发的{{name}}。我可能会出错，我的知识来自训练数据，可能不是最新的；只有在接入"
            "相应工具时我才能联网。重要信息请再核实一下。",
            "作为{{name}}，除非{{author}}或你为我接入了联网工具，否则我无法访问互联网，也不会记得当前对话"
            "以外的内容。我的回答也可能有误，请注意核实。",
        ],
    ),
    (
        ["谢谢！", "谢谢你的帮助", "再见", "拜拜"],
        [
            "不客气！我是{{name}}，很高兴能帮到你，随时欢迎再来。",
            "不用谢！{{author}}开发的{{name}}随时为你服务，祝你一天愉快。",
        ],
    ),
]


def make_identity() -> list[dict]:
    rows = []
    for groups in (IDENTITY_EN, IDENTITY_ZH):
        for questions, answers in groups:
            for i, question in enumerate(questions):
                rows.append(alpaca(question, answers[i % len(answers)]))
    return rows


# --------------------------------------------------------------------------------------------------
# alpaca_en_demo.json

QA_EN = [
    ("Why is the sky blue?",
     "Sunlight contains all visible colours. When it passes through the atmosphere, air molecules scatter "
     "short wavelengths (blue and violet) much more strongly than long ones (red and orange); this is called "
     "Rayleigh scattering. Scattered blue light reaches our eyes from every direction, so the sky looks blue. "
     "We see blue rather than violet because sunlight has less violet, some is absorbed high in the "
     "atmosphere, and our eyes are more sensitive to blue."),
    ("What is photosynthesis?",
     "Photosynthesis is the process by which plants, algae and some bacteria use light energy to turn carbon "
     "dioxide and water into glucose and oxygen. It takes place mainly in the chloroplasts, where the pigment "
     "chlorophyll absorbs light. The overall reaction is 6CO2 + 6H2O + light energy -> C6H12O6 + 6O2."),
    ("How many bones are in the adult human body?",
     "An adult human skeleton usually has 206 bones. Babies are born with more (around 270), but many of them "
     "fuse together during growth."),
    ("At what temperature does water boil?",
     "At sea level, where the air pressure is one standard atmosphere, pure water boils at 100 °C (212 °F). "
     "At higher altitudes the pressure is lower, so water boils at a lower temperature."),
    ("What causes ocean tides?",
     "Tides are caused mainly by the Moon's gravity, with a smaller contribution from the Sun. The pull is "
     "slightly different on the side of Earth facing the Moon and on the far side, which creates two bulges "
     "of water. As Earth rotates through these bulges, most coasts see two high tides and two low tides "
     "about every 24 hours and 50 minutes."),
    ("What is DNA?",
     "DNA (deoxyribonucleic acid) is the molecule that carries the genetic instructions of living things. It "
     "is a double helix made of two strands of nucleotides; the order of its four bases (adenine, thymine, "
     "guanine and cytosine) encodes genes, which cells use to build proteins."),
    ("How fast does light travel?",
     "In a vacuum, light travels at exactly 299,792,458 metres per second, or about 300,000 kilometres per "
     "second. At that speed, light from the Sun takes about 8 minutes and 20 seconds to reach Earth."),
    ("Who wrote Romeo and Juliet?",
     "Romeo and Juliet was written by William Shakespeare, probably around 1595."),
    ("What is the largest ocean on Earth?",
     "The Pacific Ocean is the largest and deepest ocean. It covers about a third of Earth's surface, more "
     "than all the land areas combined."),
    ("What is the difference between weather and climate?",
     "Weather is the state of the atmosphere at a particular place and time: today's temperature, rain, wind "
     "and clouds. Climate is the average pattern of weather in a region over a long period, usually 30 years "
     "or more. In short, weather is what you get on a given day; climate is what you expect."),
    ("What is inflation?",
     "Inflation is the general rise in prices of goods and services over time, which means each unit of money "
     "buys less than before. It is usually measured as the yearly percentage change in a price index such as "
     "the consumer price index (CPI)."),
    ("What is a black hole?",
     "A black hole is a region of space where gravity is so strong that nothing, not even light, can escape "
     "once it crosses the boundary called the event horizon. Most black holes form when very massive stars "
     "collapse at the end of their lives."),
    ("How do vaccines work?",
     "A vaccine shows the immune system a harmless piece or version of a germ, such as an inactivated virus, a "
     "protein, or instructions to make a protein. The immune system learns to recognise it and builds memory "
     "cells and antibodies, so if the real germ appears later, the body can fight it off faster."),
    ("What is machine learning?",
     "Machine learning is a branch of artificial intelligence in which computers learn patterns from data "
     "instead of following only hand-written rules. A model is trained on examples, adjusting its parameters "
     "to reduce its errors, and is then used to make predictions on new data."),
    ("What is the chemical formula of water?",
     "The chemical formula of water is H2O: each molecule has two hydrogen atoms bonded to one oxygen atom."),
    ("What is the tallest mountain in the world?",
     "Mount Everest, on the border between Nepal and China, is the highest mountain above sea level at "
     "8,849 metres (29,032 feet)."),
    ("What is an API?",
     "An API (application programming interface) is a defined way for one piece of software to ask another for "
     "data or services. It specifies which requests can be made, what inputs they take and what they return, "
     "so programs can work together without knowing each other's internal details."),
    ("What is the greenhouse effect?",
     "The greenhouse effect is the warming of Earth's surface caused by gases such as carbon dioxide, methane "
     "and water vapour. Sunlight warms the ground, which gives off heat as infrared radiation; greenhouse gases "
     "absorb and re-emit part of it, keeping the lower atmosphere warmer than it would otherwise be. Adding "
     "more of these gases strengthens the effect."),
    ("What is the difference between a virus and a bacterium?",
     "Bacteria are single-celled living organisms that can reproduce on their own, and many are harmless or "
     "even helpful. Viruses are much smaller, are not cells, and can only reproduce inside the cells of a "
     "host. Antibiotics can treat bacterial infections but do not work against viruses."),
    ("Why do we have leap years?",
     "A year on the calendar has 365 days, but Earth takes about 365.2422 days to orbit the Sun. Adding an "
     "extra day, 29 February, in most years divisible by 4 keeps the calendar in step with the seasons. "
     "Century years are leap years only if they are divisible by 400, so 2000 was a leap year but 1900 was not."),
    ("What is the largest planet in the solar system?",
     "Jupiter is the largest planet in the solar system. It is a gas giant with a diameter about 11 times "
     "that of Earth."),
    ("What is a haiku?",
     "A haiku is a short form of poetry from Japan. In English it is usually written in three lines of five, "
     "seven and five syllables, and it traditionally captures a moment in nature or a season."),
    ("What does a CPU do?",
     "The CPU (central processing unit) is the part of a computer that carries out program instructions. It "
     "fetches instructions from memory, decodes them and executes them, performing arithmetic, logic and "
     "control operations."),
    ("What is the function of the heart?",
     "The heart is a muscular organ that pumps blood around the body. The right side sends blood to the lungs "
     "to pick up oxygen, and the left side pumps oxygen-rich blood to the rest of the body."),
    ("What is the difference between speed and velocity?",
     "Speed is how fast something moves (a scalar, such as 60 km/h). Velocity is speed in a given direction "
     "(a vector, such as 60 km/h north). Two cars with the same speed going opposite ways have different "
     "velocities."),
    ("What is renewable energy?",
     "Renewable energy comes from sources that are naturally replenished on a human timescale, such as "
     "sunlight, wind, flowing water, geothermal heat and biomass. Unlike coal, oil and gas, these sources do "
     "not run out when used."),
    ("What does HTTP stand for?",
     "HTTP stands for Hypertext Transfer Protocol. It is the protocol web browsers and servers use to request "
     "and send web pages and other resources. HTTPS is the same protocol encrypted with TLS."),
    ("How many continents are there?",
     "By the most common convention there are seven continents: Africa, Antarctica, Asia, Australia (Oceania), "
     "Europe, North America and South America."),
]

LISTS_EN = [
    ("List the three primary colours of traditional colour theory.", "1. Red\n2. Yellow\n3. Blue"),
    ("Name the seven continents.",
     "1. Africa\n2. Antarctica\n3. Asia\n4. Australia (Oceania)\n5. Europe\n6. North America\n7. South America"),
    ("List four renewable energy sources.", "1. Solar power\n2. Wind power\n3. Hydropower\n4. Geothermal energy"),
    ("Give five tips for better sleep.",
     "1. Go to bed and wake up at the same time every day.\n2. Keep your bedroom dark, quiet and cool.\n"
     "3. Avoid caffeine in the afternoon and evening.\n4. Put screens away for the last half hour before bed.\n"
     "5. Get some daylight and exercise during the day."),
    ("List the planets of the solar system in order from the Sun.",
     "1. Mercury\n2. Venus\n3. Earth\n4. Mars\n5. Jupiter\n6. Saturn\n7. Uranus\n8. Neptune"),
    ("Name three mammals that live in the ocean.", "1. Blue whale\n2. Bottlenose dolphin\n3. Harbour seal"),
    ("Suggest four ways to reduce plastic waste at home.",
     "1. Carry reusable shopping bags.\n2. Use a refillable water bottle.\n3. Buy loose fruit and vegetables "
     "instead of pre-packed ones.\n4. Store leftovers in glass or metal containers instead of cling film."),
    ("Name the four seasons of the year.", "Spring, summer, autumn (fall) and winter."),
    ("List five healthy breakfast ideas.",
     "1. Oatmeal with berries and nuts\n2. Greek yogurt with fruit\n3. Whole-grain toast with avocado and egg\n"
     "4. A vegetable omelette\n5. A smoothie made with spinach, banana and milk"),
    ("Give three tips for writing a good email subject line.",
     "1. Keep it short, ideally under about eight words.\n2. Say what the email is about or what you need.\n"
     "3. Put the most important words first, for example \"Invoice 1042 due Friday\"."),
    ("List the three states of matter that we meet in everyday life.", "Solid, liquid and gas."),
    ("Name five programming languages.", "Python, JavaScript, C, Java and Rust."),
    ("List the steps to make a cup of tea.",
     "1. Boil fresh water.\n2. Put a tea bag or loose tea in a cup or pot.\n3. Pour the hot water over the "
     "tea.\n4. Let it steep for three to five minutes.\n5. Remove the tea and add milk, sugar or lemon if "
     "you like."),
    ("Give four tips for staying focused while studying.",
     "1. Put your phone in another room.\n2. Work in short blocks, such as 25 minutes, with brief breaks.\n"
     "3. Decide what you want to finish before you start.\n4. Keep your desk clear of things you don't need."),
]

CODE_EN = [
    ("Write a Python function that reverses a string.",
     "```python\ndef reverse_string(text: str) -> str:\n    return text[::-1]\n\n\nprint(reverse_string(\"hello\"))"
     "  # olleh\n```\n\nThe slice `[::-1]` walks the string from the end to the start with a step of -1."),
    ("Write a Python function that checks whether a number is prime.",
     "```python\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    d = 2\n"
     "    while d * d <= n:\n        if n % d == 0:\n            return False\n        d += 1\n    return True\n```\n\n"
     "A divisor larger than the square root of n would pair with one smaller than it, so checking up to "
     "the square root is enough."),
    ("Write a Python function to compute the factorial of n without recursion.",
     "```python\ndef factorial(n: int) -> int:\n    if n < 0:\n        raise ValueError(\"n must be non-negative\")\n"
     "    result = 1\n    for k in range(2, n + 1):\n        result *= k\n    return result\n\n\n"
     "print(factorial(5))  # 120\n```"),
    ("Write a Python function that returns the first n Fibonacci numbers.",
     "```python\ndef fibonacci(n: int) -> list[int]:\n    numbers = []\n    a, b = 0, 1\n    for _ in range(n):\n"
     "        numbers.append(a)\n        a, b = b, a + b\n    return numbers\n\n\nprint(fibonacci(8))"
     "  # [0, 1, 1, 2, 3, 5, 8, 13]\n```"),
    ("Write Python code that counts how often each word appears in a sentence.",
     "```python\nfrom collections import Counter\n\nsentence = \"the cat and the hat\"\n"
     "counts = Counter(sentence.split())\nprint(counts)  # Counter({'the': 2, 'cat': 1, 'and': 1, 'hat': 1})\n```"),
    ("Show how to read a text file line by line in Python.",
     "```python\nwith open(\"notes.txt\", encoding=\"utf-8\") as f:\n    for line in f:\n"
     "        print(line.rstrip(\"\\n\"))\n```\n\nThe `with` block closes the file automatically, and iterating "
     "over the file object reads one line at a time, so large files don't have to fit in memory."),
    ("Write an SQL query that selects the names of all customers in Berlin, sorted alphabetically.",
     "```sql\nSELECT name\nFROM customers\nWHERE city = 'Berlin'\nORDER BY name ASC;\n```"),
    ("Write a JavaScript function that returns the sum of an array of numbers.",
     "```javascript\nfunction sum(numbers) {\n  return numbers.reduce((total, x) => total + x, 0);\n}\n\n"
     "console.log(sum([1, 2, 3, 4])); // 10\n```"),
    ("Use a Python list comprehension to get the squares of the even numbers from 1 to 10.",
     "```python\nsquares = [n * n for n in range(1, 11) if n % 2 == 0]\nprint(squares)  # [4, 16, 36, 64, 100]\n```"),
    ("Write a Python function that checks whether a word is a palindrome, ignoring case.",
     "```python\ndef is_palindrome(word: str) -> bool:\n    w = word.lower()\n    return w == w[::-1]\n\n\n"
     "print(is_palindrome(\"Level\"))  # True\nprint(is_palindrome(\"python\"))  # False\n```"),
    ("How do I merge two dictionaries in Python?",
     "In Python 3.9 and later you can use the `|` operator; keys from the right-hand dictionary win:\n\n"
     "```python\na = {\"x\": 1, \"y\": 2}\nb = {\"y\": 3, \"z\": 4}\nmerged = a | b\nprint(merged)"
     "  # {'x': 1, 'y': 3, 'z': 4}\n```\n\nIn older versions, `{**a, **b}` does the same."),
    ("Write a binary search function in Python.",
     "```python\ndef binary_search(items: list[int], target: int) -> int:\n    \"\"\"Index of target in the sorted "
     "list items, or -1 if it is absent.\"\"\"\n    lo, hi = 0, len(items) - 1\n    while lo <= hi:\n"
     "        mid = (lo + hi) // 2\n        if items[mid] == target:\n            return mid\n"
     "        if items[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n"
     "    return -1\n```\n\nEach step halves the search range, so it takes O(log n) comparisons."),
    ("Write a Python function that converts Celsius to Fahrenheit.",
     "```python\ndef celsius_to_fahrenheit(c: float) -> float:\n    return c * 9 / 5 + 32\n\n\n"
     "print(celsius_to_fahrenheit(100))  # 212.0\n```"),
    ("Write a shell command that counts the lines in every .txt file in the current directory.",
     "```bash\nwc -l *.txt\n```\n\n`wc -l` prints the number of lines in each file, followed by a total."),
]

CODE_INPUT_EN = [
    ("Explain what this code does.",
     "def f(xs):\n    return [x for x in xs if x % 2 == 1]",
     "The function takes a list `xs` and returns a new list containing only its odd numbers, in their original "
     "order. For example, `f([1, 2, 3, 4, 5])` returns `[1, 3, 5]`."),
    ("Find and fix the bug in this function, which should return the average of a list.",
     "def average(values):\n    total = 0\n    for v in values:\n        total += v\n    return total / len(values) - 1",
     "The last line subtracts 1 from the average because of a stray `- 1`. The fixed version:\n\n"
     "```python\ndef average(values):\n    if not values:\n        raise ValueError(\"average of an empty list\")\n"
     "    return sum(values) / len(values)\n```\n\nI also added a check for an empty list, which would otherwise "
     "raise ZeroDivisionError."),
    ("Explain what this SQL query returns.",
     "SELECT department, COUNT(*) FROM employees GROUP BY department HAVING COUNT(*) > 10;",
     "It returns every department that has more than 10 employees, together with its number of employees. "
     "`GROUP BY` forms one group per department, `COUNT(*)` counts the rows in each group, and `HAVING` keeps "
     "only the groups whose count is above 10."),
    ("What will this Python code print?", "x = [1, 2, 3]\ny = x\ny.append(4)\nprint(x)",
     "It prints `[1, 2, 3, 4]`. The assignment `y = x` doesn't copy the list; both names refer to the same list "
     "object, so appending through `y` also changes what `x` shows. Use `y = x.copy()` to get an independent copy."),
]

REWRITE_EN = [
    ("Rewrite the sentence in the passive voice.", "The chef cooked a delicious meal.",
     "A delicious meal was cooked by the chef."),
    ("Rewrite the sentence in the passive voice.", "The committee approved the new budget.",
     "The new budget was approved by the committee."),
    ("Rewrite the sentence in the active voice.", "The window was broken by the children.",
     "The children broke the window."),
    ("Rewrite the sentence in the active voice.", "The report was written by Maria.", "Maria wrote the report."),
    ("Make this message more formal.", "Hey, can you send me that file asap?",
     "Hello, could you please send me the file at your earliest convenience?"),
    ("Make this sentence more formal.", "We gotta finish this by Friday.", "We need to finish this by Friday."),
    ("Simplify this sentence.", "Due to the fact that it was raining, the game was postponed.",
     "Because it was raining, the game was postponed."),
    ("Make this sentence more concise.",
     "In order to improve performance, we made a decision to upgrade the servers.",
     "To improve performance, we decided to upgrade the servers."),
    ("Make this sentence more concise.", "At this point in time, we are unable to process your request.",
     "We can't process your request right now."),
    ("Rewrite this sentence with a friendlier tone.", "Your application is incomplete and cannot be reviewed.",
     "Your application is almost ready! Once the missing parts are added, we'll be happy to review it."),
    ("Correct the grammar in this sentence.", "She don't like apples.", "She doesn't like apples."),
    ("Correct the grammar in this sentence.", "Their going to the park tomorrow.",
     "They're going to the park tomorrow."),
    ("Correct the grammar in this sentence.", "Me and him went to the store.", "He and I went to the store."),
    ("Correct the grammar in this sentence.", "I have less books than you.", "I have fewer books than you."),
    ("Correct the grammar in this sentence.", "The dog wagged it's tail.", "The dog wagged its tail."),
    ("Correct the grammar in this sentence.", "Each of the students have a book.",
     "Each of the students has a book."),
    ("Correct the grammar in this sentence.", "If I was you, I would apologize.",
     "If I were you, I would apologize."),
    ("Correct the grammar in this sentence.", "He runs more faster than me.", "He runs faster than I do."),
]

# English sentence, Chinese, Spanish, French
TRANSLATIONS = [
    ("Good morning, how are you?", "早上好，你好吗？", "Buenos días, ¿cómo estás?", "Bonjour, comment allez-vous ?"),
    ("Where is the train station?", "火车站在哪里？", "¿Dónde está la estación de tren?", "Où est la gare ?"),
    ("Thank you very much for your help.", "非常感谢你的帮助。", "Muchas gracias por tu ayuda.",
     "Merci beaucoup pour votre aide."),
    ("I would like a cup of coffee, please.", "请给我一杯咖啡。", "Quisiera una taza de café, por favor.",
     "Je voudrais une tasse de café, s'il vous plaît."),
    ("The weather is nice today.", "今天天气很好。", "Hoy hace buen tiempo.", "Il fait beau aujourd'hui."),
    ("How much does this cost?", "这个多少钱？", "¿Cuánto cuesta esto?", "Combien ça coûte ?"),
    ("I am learning to cook.", "我正在学做饭。", "Estoy aprendiendo a cocinar.", "J'apprends à cuisiner."),
    ("See you tomorrow.", "明天见。", "Hasta mañana.", "À demain."),
    ("The library opens at nine.", "图书馆九点开门。", "La biblioteca abre a las nueve.",
     "La bibliothèque ouvre à neuf heures."),
    ("Do you speak English?", "你会说英语吗？", "¿Hablas inglés?", "Parlez-vous anglais ?"),
    ("My brother lives in Shanghai.", "我哥哥住在上海。", "Mi hermano vive en Shanghái.", "Mon frère habite à Shanghai."),
    ("We are going to the beach this weekend.", "这个周末我们要去海边。", "Este fin de semana vamos a la playa.",
     "Ce week-end, nous allons à la plage."),
]

SENTIMENT_EN = [
    ("The delivery was fast and the food was still hot. Great service!", "Positive"),
    ("I waited two hours and nobody answered my call.", "Negative"),
    ("The hotel room was clean, but the breakfast was disappointing.", "Mixed"),
    ("This is the best book I've read all year.", "Positive"),
    ("The app keeps crashing every time I open it.", "Negative"),
    ("The package arrived on Tuesday.", "Neutral"),
    ("I love how light and comfortable these shoes are.", "Positive"),
    ("The movie was far too long and the plot made no sense.", "Negative"),
]

ODD_ONE_OUT_EN = [
    ("apple, banana, carrot, grape", "Carrot is the odd one out: it is a vegetable, while the others are fruits."),
    ("Mercury, Venus, Moon, Mars", "The Moon is the odd one out: it is a natural satellite, while the others are planets."),
    ("piano, violin, guitar, paintbrush",
     "Paintbrush is the odd one out: it is a painting tool, while the others are musical instruments."),
    ("eagle, sparrow, penguin, bat", "Bat is the odd one out: it is a mammal, while the others are birds."),
    ("2, 3, 5, 9", "9 is the odd one out: it is not prime (9 = 3 × 3), while 2, 3 and 5 are prime numbers."),
    ("Python, Java, HTML, Rust",
     "HTML is the odd one out: it is a markup language, while Python, Java and Rust are programming languages."),
]

DEFINE_EN = [
    ("ubiquitous", "present or found everywhere", "Smartphones have become ubiquitous in modern life."),
    ("ephemeral", "lasting for a very short time", "The beauty of the cherry blossoms is ephemeral."),
    ("meticulous", "showing great attention to detail; very careful and precise",
     "She kept meticulous notes of every experiment."),
    ("ambiguous", "open to more than one interpretation; not clear",
     "The instructions were ambiguous, so everyone did something different."),
    ("resilient", "able to recover quickly from difficulties or to return to shape after being bent",
     "Children are often remarkably resilient after a setback."),
    ("frugal", "careful not to spend more money or use more resources than necessary",
     "Living frugally helped them save for a house."),
    ("candid", "truthful and straightforward; frank", "Thank you for your candid feedback on my draft."),
    ("benevolent", "kind and well-meaning", "The benevolent neighbour shovelled snow for everyone on the street."),
]

SUMMARIES_EN = [
    ("Summarize the following paragraph in one sentence.",
     "The town council met on Monday to discuss the future of the old railway station. Some members want to "
     "turn it into a museum about local history, while others prefer to sell the building to a developer who "
     "plans to open shops and cafés. The council agreed to ask residents for their opinions in an online "
     "survey before making a final decision next month.",
     "The town council, split between a museum and a commercial sale for the old railway station, will survey "
     "residents before deciding next month."),
    ("Summarize the text in one sentence.",
     "Regular exercise has benefits beyond physical fitness. Studies show that even a brisk 30-minute walk "
     "most days can improve mood, reduce stress and help people sleep better. Exercise also strengthens the "
     "heart and can lower the risk of several long-term illnesses.",
     "Regular moderate exercise, such as a daily brisk walk, improves mood, sleep and heart health and lowers "
     "the risk of long-term illness."),
    ("Give a short summary of this passage.",
     "Honeybees communicate the location of food with a movement called the waggle dance. A forager returning "
     "to the hive walks in a figure-of-eight pattern while shaking its body. The angle of the straight part "
     "of the dance shows the direction of the food relative to the Sun, and the length of the waggle shows "
     "how far away it is.",
     "Honeybees use the waggle dance to tell hive mates where food is: its angle gives the direction relative "
     "to the Sun and its duration gives the distance."),
    ("Summarize this in one sentence.",
     "Our office will move to a new building on 12 May. Staff should pack their desks by the afternoon of "
     "9 May, labelling each box with their name and team. The IT department will move computers over the "
     "weekend, and everyone should be able to work from the new office on Monday morning.",
     "The office moves on 12 May: staff pack and label their desks by the afternoon of 9 May, IT moves the "
     "computers over the weekend, and work resumes in the new building on Monday."),
]

CREATIVE_EN = [
    ("Write a haiku about autumn.", "Leaves drift slowly down\nCrimson whispers on the path\nThe old maple sighs"),
    ("Write a haiku about the sea.", "Waves fold into foam\nSalt wind carries gull voices\nThe tide keeps its time"),
    ("Suggest three names for a small neighbourhood bakery.", "1. The Rising Loaf\n2. Corner Crumb\n3. Morning Oven"),
    ("Write a slogan for a bicycle repair shop.", "\"We keep your wheels turning.\""),
    ("Write a two-sentence story about a lost key.",
     "For a week, Mia searched every pocket and drawer for the key to her grandmother's old chest. On the last "
     "day, she found it hanging on a hook inside the chest's lid, where it had been all along."),
    ("Write a short thank-you note to a colleague who helped you finish a project.",
     "Hi Sam,\n\nThank you for all your help on the report this week. Your analysis of the survey data made a "
     "real difference, and I couldn't have met the deadline without you.\n\nBest regards,\nAlex"),
    ("Write an opening line for a mystery novel.",
     "The clock in the hallway had stopped at 3:17, the exact minute, the police would later say, that "
     "Edward Hale was last seen alive."),
]

ANIMAL_CLASSES = [
    ("dolphin", "mammal"), ("sparrow", "bird"), ("crocodile", "reptile"), ("bat", "mammal"),
    ("penguin", "bird"), ("tortoise", "reptile"), ("whale", "mammal"), ("owl", "bird"),
    ("gecko", "reptile"), ("kangaroo", "mammal"), ("ostrich", "bird"), ("cobra", "reptile"),
]

SENTENCES_EN = [
    "The quick brown fox jumps over the lazy dog",
    "Machine learning models learn patterns from data",
    "Every morning she walks her dog along the river",
    "Fresh bread smells wonderful on a cold winter day",
    "The museum opens at ten and closes at six",
    "Reading before bed helps me relax",
    "Our team finished the project two days early",
    "Rain is expected across the north this weekend",
]

WORDS_EN = ["banana", "apple", "apricot", "mango", "grape", "kiwi", "orange", "peach", "lemon", "plum", "pear",
            "melon", "fig", "lime", "papaya"]


def arithmetic_en(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(3):
        a, d = rng.randint(40, 250), rng.randint(3, 14)
        rows.append(alpaca(f"A bakery sells {a} loaves of bread each day. How many loaves does it sell in {d} days?",
                           f"It sells {a} × {d} = {num(a * d)} loaves in {d} days."))
        a, b = rng.randint(30, 99), rng.randint(5, 29)
        rows.append(alpaca(f"Tom has {a} marbles and gives {b} of them to his sister. How many marbles does he have left?",
                           f"Tom has {a} − {b} = {a - b} marbles left."))
        v, t = rng.choice([60, 75, 80, 90, 120, 250]), rng.randint(2, 7)
        rows.append(alpaca(f"A train travels at {v} km/h for {t} hours. How far does it go?",
                           f"Distance = speed × time = {v} km/h × {t} h = {num(v * t)} km."))
        a, n = rng.choice([6, 8, 12, 24]), rng.randint(50, 300)
        boxes = -(-n // a)
        note = "" if n % a == 0 else f" The last box holds only {n - (boxes - 1) * a} pencils."
        rows.append(alpaca(f"A box holds {a} pencils. How many boxes are needed to pack {n} pencils?",
                           f"{n} ÷ {a} {'=' if n % a == 0 else '≈'} {num(n / a)}, so {boxes} boxes are needed.{note}"))
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        rows.append(alpaca(f"What is {a} multiplied by {b}?", f"{a} × {b} = {num(a * b)}."))
        p, base = rng.choice([10, 15, 20, 25, 40, 75]), rng.choice([80, 120, 240, 360, 500, 1200])
        rows.append(alpaca(f"Calculate {p}% of {base}.", f"{p}% of {base} is {base} × {p}/100 = {num(base * p / 100)}."))
        price, off = rng.choice([40, 60, 85, 120, 199, 250]), rng.choice([10, 20, 25, 30, 50])
        sale = price * (100 - off) / 100
        rows.append(alpaca(f"A jacket costs ${price} and is on sale for {off}% off. What is the sale price?",
                           f"The discount is ${price} × {off}% = ${num(price * off / 100)}, so the sale price is "
                           f"${price} − ${num(price * off / 100)} = ${num(sale)}."))
        xs = [rng.randint(1, 100) for _ in range(rng.randint(4, 6))]
        rows.append(alpaca("What is the average of these numbers?", f"The sum is {' + '.join(map(str, xs))} = "
                           f"{sum(xs)}, and there are {len(xs)} numbers, so the average is {sum(xs)} ÷ {len(xs)} "
                           f"{approx(sum(xs) / len(xs))}.", ", ".join(map(str, xs))))
        w, h = rng.randint(3, 20), rng.randint(21, 40)
        rows.append(alpaca(f"A rectangle is {w} cm wide and {h} cm long. What are its area and perimeter?",
                           f"Area = {w} × {h} = {w * h} cm². Perimeter = 2 × ({w} + {h}) = {2 * (w + h)} cm."))
    return rows


def conversions_en(rng: random.Random) -> list[dict]:
    rows = []
    for km in rng.sample([5, 10, 21, 42, 100, 160, 250], 3):
        rows.append(alpaca(f"Convert {km} kilometres to miles.",
                           f"1 km ≈ 0.621371 miles, so {km} km ≈ {num(km * 0.621371)} miles."))
    for c in rng.sample([-10, 0, 18, 25, 37, 100], 3):
        rows.append(alpaca(f"What is {c} °C in Fahrenheit?",
                           f"°F = °C × 9/5 + 32 = {c} × 9/5 + 32 = {num(c * 9 / 5 + 32, 1)} °F."))
    for f in rng.sample([32, 50, 68, 98.6, 212], 2):
        rows.append(alpaca(f"Convert {num(f, 1)} °F to Celsius.",
                           f"°C = (°F − 32) × 5/9 = ({num(f, 1)} − 32) × 5/9 = {num((f - 32) * 5 / 9, 1)} °C."))
    for kg in rng.sample([2, 5, 10, 63, 80], 2):
        rows.append(alpaca(f"How many pounds is {kg} kg?", f"1 kg ≈ 2.20462 lb, so {kg} kg ≈ {num(kg * 2.20462, 1)} lb."))
    for inch in rng.sample([6, 12, 24, 55, 65], 2):
        rows.append(alpaca(f"Convert {inch} inches to centimetres.",
                           f"One inch is exactly 2.54 cm, so {inch} in = {inch} × 2.54 = {num(inch * 2.54)} cm."))
    for h in rng.sample([2, 3, 5, 8], 2):
        rows.append(alpaca(f"How many seconds are there in {h} hours?",
                           f"{h} hours × 60 minutes × 60 seconds = {num(h * 3600)} seconds."))
    return rows


def text_tasks_en(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(3):
        xs = rng.sample(range(1, 200), 6)
        rows.append(alpaca("Sort these numbers from smallest to largest.", ", ".join(map(str, sorted(xs))),
                           ", ".join(map(str, xs))))
        rows.append(alpaca("Which number in this list is the largest?", f"The largest number is {max(xs)}.",
                           ", ".join(map(str, xs))))
    for s in SENTENCES_EN:
        task = rng.choice(["count", "reverse", "upper"])
        if task == "count":
            rows.append(alpaca("How many words are in this sentence?", f"The sentence has {len(s.split())} words.", s))
        elif task == "reverse":
            rows.append(alpaca("Reverse the order of the words in this sentence.", " ".join(reversed(s.split())), s))
        else:
            rows.append(alpaca("Convert this sentence to upper case.", s.upper(), s))
    for _ in range(3):
        words = rng.sample(WORDS_EN, 5)
        rows.append(alpaca("Put these words in alphabetical order.", ", ".join(sorted(words)), ", ".join(words)))
    for word in rng.sample(WORDS_EN, 3):
        vowels = sum(ch in "aeiou" for ch in word)
        rows.append(alpaca(f"How many vowels are in the word \"{word}\"?",
                           f"\"{word}\" has {vowels} vowel{'s' if vowels != 1 else ''}: "
                           f"{', '.join(ch for ch in word if ch in 'aeiou')}."))
    for _ in range(2):
        animals = rng.sample(ANIMAL_CLASSES, 5)
        rows.append(alpaca("Classify each animal as a mammal, bird or reptile.",
                           "\n".join(f"{name.capitalize()}: {kind}" for name, kind in animals),
                           ", ".join(name for name, _ in animals)))
    primes = [n for n in range(2, 30) if is_prime(n)]
    rows.append(alpaca("List the first ten prime numbers.", ", ".join(map(str, primes[:10])) + "."))
    return rows


def make_alpaca_en() -> list[dict]:
    rng = random.Random(SEED + 1)
    rows = [alpaca(q, a) for q, a in QA_EN] + [alpaca(q, a) for q, a in LISTS_EN]
    rows += [alpaca(q, a) for q, a in CODE_EN] + [alpaca(q, a, i) for q, i, a in CODE_INPUT_EN]
    rows += [alpaca(q, a, i) for q, i, a in REWRITE_EN]
    for en, zh, es, fr in TRANSLATIONS:
        lang, text = rng.choice([("Chinese", zh), ("Spanish", es), ("French", fr)])
        rows.append(alpaca(f"Translate the following sentence into {lang}.", text, en))
    rows += [alpaca("Classify the sentiment of this review as Positive, Negative, Neutral or Mixed.", label, text)
             for text, label in SENTIMENT_EN]
    rows += [alpaca("Which item is the odd one out, and why?", a, i) for i, a in ODD_ONE_OUT_EN]
    rows += [alpaca(f"What does the word \"{w}\" mean? Use it in a sentence.",
                    f"\"{w.capitalize()}\" means {meaning}. Example: {example}") for w, meaning, example in DEFINE_EN]
    rows += [alpaca(q, a, i) for q, i, a in SUMMARIES_EN] + [alpaca(q, a) for q, a in CREATIVE_EN]
    for country, capital, *_ in COUNTRIES[::2]:
        rows.append(alpaca(f"What is the capital of {country}?", f"The capital of {country} is {capital}."))
    for country, _, currency, _, *_ in COUNTRIES[1::4]:
        rows.append(alpaca(f"What currency is used in {country}?", f"The currency of {country} is the {currency}."))
    for name, symbol, z, category, state, _ in ELEMENTS[::3]:
        rows.append(alpaca(f"What is the chemical symbol and atomic number of {name}?",
                           f"The chemical symbol of {name} is {symbol}, and its atomic number is {z}. It is "
                           f"{an(category)} {category} and is a {state} at room temperature."))
    rows += arithmetic_en(rng) + conversions_en(rng) + text_tasks_en(rng)
    rows = dedupe(rows, lambda r: r["instruction"] + "\x00" + r["input"])
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------------------------------
# alpaca_zh_demo.json

QA_ZH = [
    ("天空为什么是蓝色的？",
     "太阳光包含各种颜色的光。阳光穿过大气层时，空气分子对波长较短的蓝光和紫光散射得最强，这种现象叫瑞利散射。"
     "被散射的蓝光从四面八方进入我们的眼睛，所以天空看起来是蓝色的。之所以不是紫色，是因为阳光中紫光本来就少，"
     "一部分又被高层大气吸收，而且人眼对蓝光更敏感。"),
    ("什么是光合作用？",
     "光合作用是绿色植物、藻类和某些细菌利用光能，把二氧化碳和水转化为葡萄糖等有机物并释放氧气的过程，"
     "主要在叶绿体中进行，由叶绿素吸收光能。总反应式可以写成：6CO2 + 6H2O + 光能 → C6H12O6 + 6O2。"),
    ("成年人有多少块骨头？",
     "成年人一般有206块骨头。婴儿出生时骨头更多（约270块），在成长过程中有些骨头会逐渐融合在一起。"),
    ("水的沸点是多少？",
     "在一个标准大气压下，纯水的沸点是100摄氏度。海拔越高，气压越低，水的沸点也越低，所以在高原上煮饭不容易熟。"),
    ("潮汐是怎么形成的？",
     "潮汐主要是由月球的引力引起的，太阳的引力也有一定影响。地球朝向月球的一面和背向月球的一面受到的引力不同，"
     "海水因此形成两个隆起。随着地球自转，大多数海岸每天会经历两次涨潮和两次落潮。"),
    ("光速是多少？",
     "光在真空中的速度是每秒299792458米，约为每秒30万千米。阳光从太阳到达地球大约需要8分20秒。"),
    ("世界上最大的海洋是哪个？",
     "太平洋是世界上面积最大、最深的海洋，约占地球表面积的三分之一，比地球上所有陆地面积的总和还要大。"),
    ("天气和气候有什么区别？",
     "天气指某地在较短时间内的大气状况，比如今天的气温、降雨和风力；气候是一个地区多年（通常是30年以上）"
     "天气的平均状况和变化规律。简单地说，天气是一时的，气候是长期的。"),
    ("什么是通货膨胀？",
     "通货膨胀是指一段时间内商品和服务的价格普遍持续上涨，同样多的钱能买到的东西变少了。"
     "通常用居民消费价格指数（CPI）的年增长率来衡量。"),
    ("疫苗是怎样起作用的？",
     "疫苗把病原体的无害部分或减毒、灭活的病原体“展示”给免疫系统，让免疫系统提前认识它，产生抗体和记忆细胞。"
     "以后真正的病原体入侵时，身体就能更快地识别并清除它。"),
    ("什么是机器学习？",
     "机器学习是人工智能的一个分支，让计算机从数据中学习规律，而不是只依靠人工编写的规则。"
     "模型在大量样本上训练、不断调整参数以减少误差，然后用来对新数据做出预测。"),
    ("水的化学式是什么？", "水的化学式是H2O，每个水分子由两个氢原子和一个氧原子组成。"),
    ("世界上最高的山峰是哪座？",
     "世界最高峰是珠穆朗玛峰，位于中国和尼泊尔边境，海拔8848.86米（2020年中尼两国共同测定）。"),
    ("为什么会有闰年？",
     "地球绕太阳公转一周大约需要365.2422天，而平年只有365天。为了让历法和季节保持一致，公历规定能被4整除的年份"
     "一般为闰年，二月有29天；但整百的年份必须能被400整除才是闰年，所以2000年是闰年，1900年不是。"),
    ("太阳系中最大的行星是哪颗？", "木星是太阳系中最大的行星，它是一颗气态巨行星，直径约为地球的11倍。"),
    ("病毒和细菌有什么不同？",
     "细菌是能独立生活和繁殖的单细胞生物，很多细菌对人无害甚至有益；病毒比细菌小得多，没有细胞结构，"
     "只能在宿主细胞内复制。抗生素可以治疗细菌感染，但对病毒无效。"),
    ("什么是可再生能源？",
     "可再生能源是指在自然界中可以不断得到补充的能源，例如太阳能、风能、水能、地热能和生物质能。"
     "与煤炭、石油、天然气不同，它们不会因为使用而枯竭。"),
    ("中国的四大发明是什么？", "中国古代的四大发明是造纸术、印刷术、火药和指南针。"),
    ("一年有多少个节气？",
     "一年有二十四个节气，从立春开始，依次为立春、雨水、惊蛰、春分、清明、谷雨、立夏、小满、芒种、夏至、小暑、大暑、"
     "立秋、处暑、白露、秋分、寒露、霜降、立冬、小雪、大雪、冬至、小寒、大寒。"),
    ("中国最长的河流是哪条？",
     "中国最长的河流是长江，全长约6300千米，也是亚洲第一长河，最终注入东海。"),
    ("为什么吃饭后不宜立刻剧烈运动？",
     "饭后大量血液流向消化系统帮助消化，如果立刻剧烈运动，血液会被分配到肌肉，影响消化，还可能引起腹痛、恶心。"
     "一般建议饭后休息半小时到一小时再进行剧烈运动，散步等轻度活动则问题不大。"),
    ("什么是HTTP？",
     "HTTP是超文本传输协议（Hypertext Transfer Protocol）的缩写，是浏览器和网站服务器之间请求和传送网页等资源所用的协议。"
     "HTTPS则是在HTTP的基础上用TLS加密传输。"),
    ("心脏有什么作用？",
     "心脏是推动血液循环的肌肉器官。右心把血液送往肺部进行气体交换，左心把富含氧气的血液泵送到全身各处。"),
]

IDIOMS_ZH = [
    ("画蛇添足", "比喻做了多余的事，反而弄巧成拙。", "这篇文章已经很完整了，再加一段总结反而是画蛇添足。"),
    ("守株待兔", "比喻死守狭隘的经验不知变通，或者妄想不劳而获。", "做生意要主动开拓市场，不能守株待兔。"),
    ("亡羊补牢", "比喻出了问题以后及时想办法补救，可以防止继续受损失。", "这次考试没考好，现在亡羊补牢，认真复习还来得及。"),
    ("对牛弹琴", "比喻对不懂道理的人讲道理，或说话不看对象。", "跟他讲这些专业术语简直是对牛弹琴。"),
    ("井底之蛙", "比喻见识狭窄的人。", "多读书、多旅行，才不会成为井底之蛙。"),
    ("半途而废", "指事情没做完就中途停止，不再继续。", "学习外语贵在坚持，千万不要半途而废。"),
    ("刻舟求剑", "比喻拘泥固执，不懂得根据情况的变化而变通。", "市场变了还用老办法，无异于刻舟求剑。"),
    ("拔苗助长", "比喻违反事物发展的客观规律，急于求成，反而坏事。", "孩子的学习要循序渐进，拔苗助长只会适得其反。"),
    ("掩耳盗铃", "比喻自己欺骗自己，明明掩盖不了的事情偏要设法掩盖。", "把问题藏起来不处理，就是掩耳盗铃。"),
    ("一举两得", "做一件事得到两方面的好处。", "骑自行车上班既锻炼身体又节省路费，真是一举两得。"),
    ("胸有成竹", "比喻做事之前已经有了通盘的考虑和把握。", "他准备充分，面试时胸有成竹。"),
    ("杯弓蛇影", "比喻因疑神疑鬼而引起恐惧。", "别再杯弓蛇影了，那只是风吹动窗帘的声音。"),
]

POEMS_ZH = [
    ("静夜思", "李白", "唐", "床前明月光"),
    ("春晓", "孟浩然", "唐", "春眠不觉晓"),
    ("登鹳雀楼", "王之涣", "唐", "白日依山尽"),
    ("望庐山瀑布", "李白", "唐", "日照香炉生紫烟"),
    ("咏鹅", "骆宾王", "唐", "鹅，鹅，鹅"),
    ("悯农（其二）", "李绅", "唐", "锄禾日当午"),
    ("江雪", "柳宗元", "唐", "千山鸟飞绝"),
    ("游子吟", "孟郊", "唐", "慈母手中线"),
    ("相思", "王维", "唐", "红豆生南国"),
    ("绝句（两个黄鹂鸣翠柳）", "杜甫", "唐", "两个黄鹂鸣翠柳"),
    ("水调歌头·明月几时有", "苏轼", "北宋", "明月几时有"),
    ("元日", "王安石", "北宋", "爆竹声中一岁除"),
]

ANTONYMS_ZH = [("高兴", "难过"), ("勇敢", "胆小"), ("美丽", "丑陋"), ("光明", "黑暗"), ("简单", "复杂"),
               ("开始", "结束"), ("增加", "减少"), ("热闹", "冷清"), ("安全", "危险"), ("节约", "浪费")]

LISTS_ZH = [
    ("列举三种常见的可再生能源。", "1. 太阳能\n2. 风能\n3. 水能"),
    ("说出七大洲的名称。", "亚洲、非洲、北美洲、南美洲、南极洲、欧洲和大洋洲。"),
    ("给出五条改善睡眠的建议。",
     "1. 每天固定时间睡觉和起床。\n2. 保持卧室安静、黑暗、凉爽。\n3. 下午和晚上少喝咖啡、浓茶。\n"
     "4. 睡前半小时放下手机。\n5. 白天多晒太阳、适量运动。"),
    ("按离太阳由近到远的顺序列出太阳系八大行星。", "水星、金星、地球、火星、木星、土星、天王星、海王星。"),
    ("列举四种减少塑料垃圾的方法。",
     "1. 购物时自带布袋。\n2. 使用可重复灌装的水杯。\n3. 少点外卖，减少一次性餐盒。\n4. 用玻璃或不锈钢容器代替保鲜膜。"),
    ("中国的传统节日有哪些？请列举五个。", "春节、元宵节、清明节、端午节、中秋节。"),
    ("列举五种健康的早餐搭配。",
     "1. 燕麦粥加水果和坚果\n2. 全麦面包配鸡蛋和牛奶\n3. 小米粥、鸡蛋和凉拌青菜\n4. 酸奶配水果\n5. 杂粮馒头配豆浆"),
    ("写出提高学习专注力的四个方法。",
     "1. 学习时把手机放到另一个房间。\n2. 每学习25分钟休息5分钟。\n3. 开始前先定好要完成的具体任务。\n4. 保持桌面整洁，只放需要的东西。"),
    ("列举三种常见的编程语言。", "Python、Java 和 C 语言。"),
    ("泡一杯绿茶的步骤是什么？",
     "1. 把水烧开后稍微放凉到80℃左右。\n2. 在杯中放入适量茶叶。\n3. 先倒少量热水润茶，再注水至七分满。\n4. 静置两三分钟即可饮用。"),
]

CODE_ZH = [
    ("用Python写一个反转字符串的函数。",
     "```python\ndef reverse_string(text: str) -> str:\n    return text[::-1]\n\n\nprint(reverse_string(\"你好世界\"))"
     "  # 界世好你\n```\n\n切片 `[::-1]` 表示以步长 -1 从末尾遍历到开头，从而得到反转后的字符串。"),
    ("用Python写一个判断素数的函数。",
     "```python\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    d = 2\n"
     "    while d * d <= n:\n        if n % d == 0:\n            return False\n        d += 1\n    return True\n```\n\n"
     "只需检查到 n 的平方根即可：如果 n 有大于平方根的因数，就一定有一个与之配对的小于平方根的因数。"),
    ("用Python计算1到100所有整数的和。",
     "```python\ntotal = sum(range(1, 101))\nprint(total)  # 5050\n```\n\n也可以用求和公式 n(n+1)/2 = 100×101/2 = 5050 验证。"),
    ("用Python写一个函数，返回列表中所有偶数。",
     "```python\ndef even_numbers(numbers: list[int]) -> list[int]:\n    return [n for n in numbers if n % 2 == 0]\n\n\n"
     "print(even_numbers([1, 2, 3, 4, 5, 6]))  # [2, 4, 6]\n```"),
    ("用Python统计一段文本中每个字出现的次数。",
     "```python\nfrom collections import Counter\n\ntext = \"人人为我，我为人人\"\ncounts = Counter(ch for ch in text if ch != \"，\")\n"
     "print(counts)  # Counter({'人': 4, '为': 2, '我': 2})\n```"),
    ("写一条SQL语句，查询成绩表中分数大于90分的学生姓名，按分数从高到低排序。",
     "```sql\nSELECT name, score\nFROM scores\nWHERE score > 90\nORDER BY score DESC;\n```"),
    ("用Python读取一个JSON文件。",
     "```python\nimport json\n\nwith open(\"config.json\", encoding=\"utf-8\") as f:\n    data = json.load(f)\nprint(data)\n```\n\n"
     "`with` 语句会在读取结束后自动关闭文件；注意指定 `encoding=\"utf-8\"`，以免中文乱码。"),
    ("用Python写一个冒泡排序。",
     "```python\ndef bubble_sort(items: list[int]) -> list[int]:\n    items = list(items)\n    n = len(items)\n"
     "    for i in range(n - 1):\n        for j in range(n - 1 - i):\n            if items[j] > items[j + 1]:\n"
     "                items[j], items[j + 1] = items[j + 1], items[j]\n    return items\n\n\n"
     "print(bubble_sort([5, 2, 9, 1]))  # [1, 2, 5, 9]\n```\n\n每一轮都会把当前最大的元素“冒泡”到末尾，时间复杂度为 O(n²)。"),
    ("用JavaScript写一个函数，判断一个年份是不是闰年。",
     "```javascript\nfunction isLeapYear(year) {\n  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;\n}\n\n"
     "console.log(isLeapYear(2000)); // true\nconsole.log(isLeapYear(1900)); // false\n```"),
]

CODE_INPUT_ZH = [
    ("解释下面这段代码的作用。", "def f(xs):\n    return max(xs) - min(xs)",
     "这个函数接收一个数字列表 `xs`，返回其中最大值与最小值的差，也就是这组数据的极差。例如 `f([3, 9, 4])` 返回 6。"),
    ("找出下面函数中的错误并改正。这个函数应该返回列表的平均值。",
     "def average(values):\n    return sum(values) / len(values) + 1",
     "最后多加了一个 `+ 1`，导致结果比真实平均值大1。改正后：\n\n```python\ndef average(values):\n"
     "    if not values:\n        raise ValueError(\"列表不能为空\")\n    return sum(values) / len(values)\n```\n\n"
     "同时增加了空列表检查，否则会出现除以零的错误。"),
    ("下面的Python代码会输出什么？", "a = [1, 2, 3]\nb = a\nb.append(4)\nprint(a)",
     "会输出 `[1, 2, 3, 4]`。`b = a` 并没有复制列表，`a` 和 `b` 指向同一个列表对象，所以通过 `b` 追加元素后，"
     "`a` 也能看到变化。如果需要独立的副本，可以写 `b = a.copy()`。"),
]

FIX_SENTENCES_ZH = [
    ("通过这次活动，使我明白了团结的重要性。", "这次活动使我明白了团结的重要性。",
     "原句缺少主语，“通过……使……”连用导致主语残缺。"),
    ("大约有一百人左右参加了这次会议。", "大约有一百人参加了这次会议。", "“大约”和“左右”语义重复，删去其一即可。"),
    ("我们必须认真克服并随时发现工作中的缺点。", "我们必须随时发现并认真克服工作中的缺点。",
     "应该先发现缺点再克服缺点，原句语序不当。"),
    ("他穿着一件红上衣，一顶蓝帽子。", "他穿着一件红上衣，戴着一顶蓝帽子。", "“穿着”不能搭配“帽子”，需要补上动词“戴着”。"),
    ("能否保持良好的心态，是考试取得好成绩的关键。", "保持良好的心态，是考试取得好成绩的关键。",
     "前面“能否”是两面，后面“取得好成绩”是一面，前后不对应。"),
    ("他的写作水平明显改进了。", "他的写作水平明显提高了。", "“水平”应与“提高”搭配，“改进”用于方法、技术等。"),
]

REWRITE_ZH = [
    ("把下面这句话改写得更正式一些。", "老板，那个文件你赶紧发我一下呗。", "您好，麻烦您方便时尽快把那份文件发给我，谢谢。"),
    ("把下面这句话改写得更简洁。", "由于今天下雨的原因，所以运动会推迟举行了。", "因为下雨，运动会推迟了。"),
    ("把下面的句子改为被动句。", "小明打碎了教室的窗户。", "教室的窗户被小明打碎了。"),
    ("把下面的句子改为“把”字句。", "妈妈洗干净了衣服。", "妈妈把衣服洗干净了。"),
    ("把下面这句话改写得更委婉。", "你的方案不行，重新做。", "这个方案还有一些可以完善的地方，我们再一起改一改好吗？"),
    ("把下面的句子改为反问句。", "学习需要坚持。", "学习难道不需要坚持吗？"),
]

SENTIMENT_ZH = [
    ("快递第二天就到了，包装也很仔细，非常满意！", "正面"),
    ("等了一个小时也没人接电话，服务太差了。", "负面"),
    ("酒店房间很干净，但早餐种类太少。", "褒贬混合"),
    ("这部电影节奏紧凑，演员演得也很好。", "正面"),
    ("软件每次打开都闪退，根本没法用。", "负面"),
    ("包裹是周二送到的。", "中性"),
    ("这家店的面条分量足，价格也实惠。", "正面"),
    ("衣服洗了一次就严重掉色，很失望。", "负面"),
]

SUMMARIES_ZH = [
    ("用一句话概括下面这段话的主要内容。",
     "社区图书馆将于下月起延长开放时间，工作日开放到晚上九点，周末开放到晚上六点。图书馆还会新增自习区和"
     "儿童阅读角，并每月举办一次读书分享会。居民可以凭身份证免费办理借书证。",
     "社区图书馆下月起延长开放时间、新增自习区和儿童阅读角并每月举办读书会，居民可凭身份证免费办证。"),
    ("概括这段文字的要点。",
     "规律运动的好处不仅在于强身健体。研究表明，大多数日子坚持快走30分钟，就能改善情绪、缓解压力、提高睡眠质量，"
     "还能增强心脏功能，降低多种慢性病的风险。",
     "坚持适量运动（如每天快走30分钟）能改善情绪和睡眠、增强心脏功能并降低慢性病风险。"),
    ("请为下面这段话写一个简短的摘要。",
     "蜜蜂通过“摇摆舞”向同伴传递食物的位置。采蜜归来的蜜蜂在蜂巢中走“8”字形路线并摆动身体，直线部分的方向"
     "与太阳方位的夹角表示食物的方向，摆动持续的时间表示距离的远近。",
     "蜜蜂用摇摆舞告诉同伴食物在哪里：舞蹈的角度表示方向，摆动的时长表示距离。"),
]

CREATIVE_ZH = [
    ("为一家社区面包店起三个名字。", "1. 麦香小铺\n2. 晨光烘焙坊\n3. 街角面包屋"),
    ("写一条节约用水的宣传标语。", "“滴水虽小，汇流成河；节约用水，从我做起。”"),
    ("用两句话写一个关于丢失钥匙的小故事。",
     "小雨找了整整一周，翻遍了所有口袋和抽屉，也没找到奶奶那只旧木箱的钥匙。最后一天她打开箱盖，"
     "才发现钥匙一直挂在箱盖内侧的小钩子上。"),
    ("给帮助你完成项目的同事写一段简短的感谢语。",
     "小王，这周的报告多亏了你帮忙整理数据，你的分析让整份报告清楚了很多。真心感谢，改天请你喝咖啡！"),
    ("写一段描写秋天的短文，不超过80字。",
     "秋风一吹，梧桐叶纷纷落下，在路面铺成一层金黄的地毯。田里的稻子低下了头，空气里飘着桂花的甜香。"
     "傍晚的天空格外高远，几行大雁正排着队向南飞去。"),
]

SENTENCES_ZH = ["春天来了，公园里的花都开了", "我每天早上六点起床跑步", "这家餐厅的服务非常周到",
                "科技改变了我们的生活方式", "周末我们一起去爬山吧", "读书使人明智，写作使人精确"]


def arithmetic_zh(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(3):
        a, b = rng.randint(20, 99), rng.randint(3, 19)
        rows.append(alpaca(f"小明有{a}个苹果，送给同学{b}个，还剩几个？", f"{a} - {b} = {a - b}，小明还剩{a - b}个苹果。"))
        v, t = rng.choice([60, 80, 90, 100, 120]), rng.randint(2, 6)
        rows.append(alpaca(f"一辆汽车每小时行驶{v}千米，{t}小时能行驶多少千米？",
                           f"路程 = 速度 × 时间 = {v} × {t} = {v * t}（千米）。答：{t}小时能行驶{v * t}千米。"))
        a, n = rng.choice([6, 8, 10, 12]), rng.randint(50, 200)
        boxes = -(-n // a)
        how = f"{n} ÷ {a} = {n // a}，正好装满{boxes}盒" if n % a == 0 else \
            f"{n} ÷ {a} = {n // a}……{n % a}，余下的{n % a}支还需要再用一个盒子"
        rows.append(alpaca(f"每盒装{a}支铅笔，{n}支铅笔至少需要几个盒子？", f"{how}，所以至少需要{boxes}个盒子。"))
        a, b = rng.randint(11, 99), rng.randint(11, 99)
        rows.append(alpaca(f"计算 {a} × {b}。", f"{a} × {b} = {a * b}。"))
        price, z = rng.choice([80, 120, 150, 200, 360]), rng.choice([9, 8, 7.5, 6, 5])
        zs = {9: "九", 8: "八", 7.5: "七五", 6: "六", 5: "五"}[z]
        rows.append(alpaca(f"一件衣服原价{price}元，打{zs}折后是多少钱？",
                           f"打{zs}折就是按原价的{num_zh(z * 10)}%出售：{price} × {num_zh(z / 10)} = {num_zh(price * z / 10)}（元）。"))
        w, h = rng.randint(3, 15), rng.randint(16, 30)
        rows.append(alpaca(f"一个长方形长{h}厘米、宽{w}厘米，它的面积和周长分别是多少？",
                           f"面积 = 长 × 宽 = {h} × {w} = {h * w}平方厘米；周长 = (长 + 宽) × 2 = ({h} + {w}) × 2 = "
                           f"{2 * (h + w)}厘米。"))
        n, p = rng.choice([40, 45, 48, 50]), rng.choice([20, 40, 60])
        girls = n * p // 100 if n * p % 100 == 0 else None
        if girls is not None:
            rows.append(alpaca(f"一个班有{n}名学生，其中女生占{p}%，女生有多少人？", f"{n} × {p}% = {girls}（人），女生有{girls}人。"))
        xs = [rng.randint(60, 100) for _ in range(5)]
        mean = sum(xs) / len(xs)
        rows.append(alpaca("求下面这组数的平均数。",
                           f"总和为 {' + '.join(map(str, xs))} = {sum(xs)}，共{len(xs)}个数，平均数为 {sum(xs)} ÷ {len(xs)} "
                           f"{approx(mean).replace(',', '')}。", "、".join(map(str, xs))))
    return rows


def conversions_zh(rng: random.Random) -> list[dict]:
    rows = []
    for km in rng.sample([2, 5, 12, 42], 2):
        rows.append(alpaca(f"{km}千米等于多少米？", f"1千米 = 1000米，所以{km}千米 = {km * 1000}米。"))
    for kg in rng.sample([3, 5, 50, 65], 2):
        rows.append(alpaca(f"{kg}公斤是多少斤？", f"1公斤 = 2斤，所以{kg}公斤 = {kg * 2}斤。"))
    for c in rng.sample([0, 20, 37, 100], 2):
        rows.append(alpaca(f"{c}摄氏度等于多少华氏度？", f"华氏度 = 摄氏度 × 9/5 + 32 = {c} × 9/5 + 32 = {num_zh(c * 9 / 5 + 32, 1)}°F。"))
    for h in rng.sample([1.5, 2, 3, 4.5], 2):
        rows.append(alpaca(f"{num_zh(h)}小时是多少分钟？", f"1小时 = 60分钟，所以{num_zh(h)}小时 = {num_zh(h * 60)}分钟。"))
    for m2 in rng.sample([2, 3, 6], 2):
        rows.append(alpaca(f"{m2}平方米等于多少平方厘米？", f"1平方米 = 10000平方厘米，所以{m2}平方米 = {m2 * 10000}平方厘米。"))
    for inch in rng.sample([24, 55, 65], 2):
        rows.append(alpaca(f"{inch}英寸等于多少厘米？", f"1英寸 = 2.54厘米，所以{inch}英寸 = {inch} × 2.54 = {num_zh(inch * 2.54)}厘米。"))
    return rows


def text_tasks_zh(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(3):
        xs = rng.sample(range(1, 200), 6)
        rows.append(alpaca("把下面的数字从小到大排序。", "、".join(map(str, sorted(xs))), "、".join(map(str, xs))))
        rows.append(alpaca("找出下面这组数中的最大值和最小值。", f"最大值是{max(xs)}，最小值是{min(xs)}。", "、".join(map(str, xs))))
    for s in SENTENCES_ZH:
        hanzi = sum("\u4e00" <= ch <= "\u9fff" for ch in s)
        rows.append(alpaca("这句话有多少个汉字？（不计标点）", f"这句话共有{hanzi}个汉字。", s))
    for _ in range(2):
        xs = [rng.randint(1, 9) for _ in range(8)]
        uniq = list(dict.fromkeys(xs))
        rows.append(alpaca("去掉下面列表中的重复数字，保留第一次出现的顺序。", "、".join(map(str, uniq)), "、".join(map(str, xs))))
    primes = [n for n in range(2, 50) if is_prime(n)]
    rows.append(alpaca("列出50以内的所有质数。", "、".join(map(str, primes)) + f"，共{len(primes)}个。"))
    return rows


def make_alpaca_zh() -> list[dict]:
    rng = random.Random(SEED + 2)
    rows = [alpaca(q, a) for q, a in QA_ZH] + [alpaca(q, a) for q, a in LISTS_ZH]
    rows += [alpaca(q, a) for q, a in CODE_ZH] + [alpaca(q, a, i) for q, i, a in CODE_INPUT_ZH]
    rows += [alpaca(f"解释成语“{idiom}”的意思，并造一个句子。", f"“{idiom}”的意思是：{meaning}\n例句：{example}")
             for idiom, meaning, example in IDIOMS_ZH]
    for title, poet, dynasty, first in POEMS_ZH:
        rows.append(alpaca(f"《{title}》的作者是谁？", f"《{title}》是{dynasty}代诗人{poet}的作品，首句是“{first}”。"
                           if not dynasty.endswith("宋") else f"《{title}》是{dynasty}文学家{poet}的作品，首句是“{first}”。"))
    rows += [alpaca(f"“{a}”的反义词是什么？", f"“{a}”的反义词是“{b}”。") for a, b in ANTONYMS_ZH]
    rows += [alpaca("修改下面的病句，并说明理由。", f"修改后：{fixed}\n理由：{why}", bad) for bad, fixed, why in FIX_SENTENCES_ZH]
    rows += [alpaca(q, a, i) for q, i, a in REWRITE_ZH]
    for en, zh, *_ in TRANSLATIONS:
        rows.append(alpaca(rng.choice(["把下面的句子翻译成英文。", "请将这句话译成英语。"]), en, zh))
    rows += [alpaca("判断下面这条评论的情感倾向（正面、负面、中性或褒贬混合）。", label, text) for text, label in SENTIMENT_ZH]
    rows += [alpaca(q, a, i) for q, i, a in SUMMARIES_ZH] + [alpaca(q, a) for q, a in CREATIVE_ZH]
    for province, capital in PROVINCES_ZH[::2]:
        seat = "首府" if province in AUTONOMOUS_REGIONS_ZH else "省会"
        rows.append(alpaca(f"{province}的{seat}是哪个城市？", f"{province}的{seat}是{capital}。"))
    for *_, country, capital, currency, continent in COUNTRIES[1::2]:
        rows.append(alpaca(f"{country}的首都是哪里？", f"{country}的首都是{capital}，它位于{continent}，通用货币是{currency}。"))
    for _, symbol, z, _, _, zh in ELEMENTS[1::3]:
        rows.append(alpaca(f"{zh}元素的化学符号和原子序数是什么？", f"{zh}的化学符号是{symbol}，原子序数是{z}。"))
    rows += arithmetic_zh(rng) + conversions_zh(rng) + text_tasks_zh(rng)
    rows = dedupe(rows, lambda r: r["instruction"] + "\x00" + r["input"])
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------------------------------
# glaive_toolcall_{en,zh}_demo.json: sharegpt rows with a JSON `tools` string. Each tool has a small
# deterministic backend here, so every observation is a real result for its call and every final answer
# restates the observation correctly.

# name -> (description en, description zh, {param: (json type, en, zh, extra schema)}, required, what it can do en/zh)
TOOL_SPECS: dict[str, tuple] = {
    "get_current_weather": (
        "Get the current weather for a city", "获取某个城市的实时天气",
        {"location": ("string", "City name, e.g. Paris", "城市名称，例如：北京", {}),
         "unit": ("string", "Temperature unit", "温度单位", {"enum": ["celsius", "fahrenheit"]})},
        ["location"], "check the current weather", "查询实时天气"),
    "calculate_bmi": (
        "Calculate the body mass index (BMI) from weight and height", "根据体重和身高计算身体质量指数（BMI）",
        {"weight_kg": ("number", "Weight in kilograms", "体重，单位为千克", {}),
         "height_m": ("number", "Height in metres", "身高，单位为米", {})},
        ["weight_kg", "height_m"], "calculate BMI", "计算BMI"),
    "convert_currency": (
        "Convert an amount from one currency to another at the current exchange rate", "按当前汇率进行货币换算",
        {"amount": ("number", "The amount to convert", "要换算的金额", {}),
         "from_currency": ("string", "ISO 4217 code of the source currency, e.g. USD", "原货币的ISO 4217代码，例如USD", {}),
         "to_currency": ("string", "ISO 4217 code of the target currency, e.g. EUR", "目标货币的ISO 4217代码，例如CNY", {})},
        ["amount", "from_currency", "to_currency"], "convert currencies", "换算货币"),
    "calculate_loan_payment": (
        "Calculate the monthly payment of a fixed-rate loan", "计算等额本息贷款的月供",
        {"principal": ("number", "Loan amount", "贷款本金", {}),
         "annual_interest_rate": ("number", "Annual interest rate in percent", "年利率（百分比）", {}),
         "years": ("integer", "Loan term in years", "贷款年限", {})},
        ["principal", "annual_interest_rate", "years"], "calculate loan payments", "计算贷款月供"),
    "calculate_tip": (
        "Calculate the tip and the total for a restaurant bill", "计算账单的小费和总额",
        {"bill_amount": ("number", "The bill before tip", "小费前的账单金额", {}),
         "tip_percentage": ("number", "Tip as a percentage of the bill", "小费占账单的百分比", {})},
        ["bill_amount", "tip_percentage"], "work out tips", "计算小费"),
    "search_recipes": (
        "Search for recipes that use the given ingredients", "根据食材搜索菜谱",
        {"ingredients": ("array", "Ingredients to use", "要使用的食材", {"items": {"type": "string"}})},
        ["ingredients"], "find recipes", "搜索菜谱"),
    "calculate_distance": (
        "Calculate the great-circle distance between two cities", "计算两个城市之间的球面（直线）距离",
        {"origin": ("string", "Starting city", "出发城市", {}),
         "destination": ("string", "Destination city", "目的地城市", {})},
        ["origin", "destination"], "measure distances between cities", "计算城市间距离"),
    "days_between_dates": (
        "Count the days between two dates", "计算两个日期之间相差的天数",
        {"start_date": ("string", "Start date, YYYY-MM-DD", "开始日期，格式为YYYY-MM-DD", {}),
         "end_date": ("string", "End date, YYYY-MM-DD", "结束日期，格式为YYYY-MM-DD", {})},
        ["start_date", "end_date"], "count days between dates", "计算日期间隔"),
    "convert_temperature": (
        "Convert a temperature between Celsius, Fahrenheit and Kelvin", "在摄氏度、华氏度和开尔文之间换算温度",
        {"value": ("number", "Temperature to convert", "要换算的温度值", {}),
         "from_unit": ("string", "Unit of the value", "原单位", {"enum": ["celsius", "fahrenheit", "kelvin"]}),
         "to_unit": ("string", "Unit to convert to", "目标单位", {"enum": ["celsius", "fahrenheit", "kelvin"]})},
        ["value", "from_unit", "to_unit"], "convert temperatures", "换算温度"),
    "calculate_discount": (
        "Calculate the price after a percentage discount", "计算打折后的价格",
        {"original_price": ("number", "Price before the discount", "原价", {}),
         "discount_percent": ("number", "Discount in percent", "折扣百分比（减免的比例）", {})},
        ["original_price", "discount_percent"], "calculate discounts", "计算折扣价"),
    "create_calendar_event": (
        "Create an event in the user's calendar", "在用户的日历中创建日程",
        {"title": ("string", "Event title", "日程标题", {}),
         "date": ("string", "Date, YYYY-MM-DD", "日期，格式为YYYY-MM-DD", {}),
         "start_time": ("string", "Start time, HH:MM (24-hour)", "开始时间，24小时制HH:MM", {}),
         "duration_minutes": ("integer", "Length of the event in minutes", "时长（分钟）", {})},
        ["title", "date", "start_time"], "add events to your calendar", "创建日程"),
    "send_email": (
        "Send an email", "发送电子邮件",
        {"to": ("string", "Recipient email address", "收件人邮箱", {}),
         "subject": ("string", "Subject line", "邮件主题", {}),
         "body": ("string", "Body text", "邮件正文", {})},
        ["to", "subject", "body"], "send emails", "发送邮件"),
    "generate_password": (
        "Generate a random password", "生成随机密码",
        {"length": ("integer", "Number of characters", "密码长度", {}),
         "include_symbols": ("boolean", "Whether to include symbols", "是否包含特殊符号", {})},
        ["length"], "generate passwords", "生成密码"),
    "get_prime_factors": (
        "Return the prime factorisation of a positive integer", "返回正整数的质因数分解",
        {"number": ("integer", "A positive integer greater than 1", "大于1的正整数", {})},
        ["number"], "factor numbers into primes", "分解质因数"),
    "calculate_area": (
        "Calculate the area of a circle, rectangle or triangle", "计算圆形、长方形或三角形的面积",
        {"shape": ("string", "The shape", "图形", {"enum": ["circle", "rectangle", "triangle"]}),
         "dimensions": ("object", "radius for a circle; width and length for a rectangle; base and height for a "
                        "triangle", "圆形给出radius；长方形给出width和length；三角形给出base和height",
                        {"properties": {k: {"type": "number"} for k in ("radius", "width", "length", "base", "height")}})},
        ["shape", "dimensions"], "calculate areas", "计算面积"),
    "get_word_definition": (
        "Look up the definition of an English word", "查询英文单词的释义",
        {"word": ("string", "The word to look up", "要查询的单词", {})},
        ["word"], "look up English words", "查英文单词"),
    "find_nearby_restaurants": (
        "Find restaurants near a location", "查找附近的餐厅",
        {"location": ("string", "City or neighbourhood", "城市或街区", {}),
         "cuisine": ("string", "Type of food", "菜系", {})},
        ["location"], "find restaurants", "查找餐厅"),
}


def tool_schema(name: str, lang: str) -> dict:
    desc_en, desc_zh, params, required, *_ = TOOL_SPECS[name]
    props = {}
    for pname, (ptype, pen, pzh, extra) in params.items():
        props[pname] = {"type": ptype, "description": pen if lang == "en" else pzh, **extra}
    return {"name": name, "description": desc_en if lang == "en" else desc_zh,
            "parameters": {"type": "object", "properties": props, "required": required}}


def tools_json(names: list[str], lang: str) -> str:
    return json.dumps([tool_schema(n, lang) for n in names], ensure_ascii=False)


RATES_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CNY": 7.24, "CAD": 1.36, "AUD": 1.52,
                 "CHF": 0.90, "INR": 83.3, "KRW": 1350.0}  # the mock exchange service's fixed quotes
CURRENCY_ZH = {"USD": "美元", "EUR": "欧元", "GBP": "英镑", "JPY": "日元", "CNY": "人民币", "CAD": "加元",
               "AUD": "澳元", "CHF": "瑞士法郎", "INR": "印度卢比", "KRW": "韩元"}
CURRENCY_EN = {"USD": "US dollars", "EUR": "euros", "GBP": "British pounds", "JPY": "Japanese yen",
               "CNY": "Chinese yuan", "CAD": "Canadian dollars", "AUD": "Australian dollars", "CHF": "Swiss francs",
               "INR": "Indian rupees", "KRW": "South Korean won"}

# (condition the tool reports in en, how an answer says it after "with", condition in zh)
WEATHER = [("sunny", "clear, sunny skies", "晴"), ("partly cloudy", "partly cloudy skies", "多云"),
           ("overcast", "overcast skies", "阴"), ("light rain", "light rain", "小雨"), ("heavy rain", "heavy rain", "大雨"),
           ("windy", "strong winds", "大风"), ("foggy", "fog", "雾")]
SNOW = ("light snow", "light snow", "小雪")

RECIPES = [
    (["chicken", "broccoli"], ["Chicken and Broccoli Stir-Fry", "Roast Chicken with Garlic Broccoli"]),
    (["tomatoes", "pasta", "basil"], ["Tomato Basil Pasta", "Pasta al Pomodoro"]),
    (["eggs", "spinach", "cheese"], ["Spinach and Cheese Omelette", "Spinach Frittata"]),
    (["rice", "eggs", "peas"], ["Egg Fried Rice"]),
    (["potatoes", "leeks"], ["Potato and Leek Soup"]),
    (["beef", "onions", "carrots"], ["Beef and Vegetable Stew", "Beef and Carrot Stir-Fry"]),
    (["salmon", "lemon", "dill"], ["Baked Salmon with Lemon and Dill"]),
    (["chickpeas", "spinach", "coconut milk"], ["Chickpea and Spinach Curry"]),
]
RECIPES_ZH = [
    (["番茄", "鸡蛋"], ["番茄炒蛋", "番茄鸡蛋汤"]),
    (["豆腐", "肉末"], ["麻婆豆腐", "肉末烧豆腐"]),
    (["土豆", "青椒"], ["青椒土豆丝"]),
    (["鸡肉", "花生"], ["宫保鸡丁"]),
    (["排骨", "玉米"], ["玉米排骨汤"]),
    (["茄子", "大蒜"], ["鱼香茄子", "蒜蓉茄子"]),
    (["虾仁", "鸡蛋"], ["虾仁炒蛋"]),
    (["牛肉", "西兰花"], ["西兰花炒牛肉"]),
]
RESTAURANTS = {
    "Italian": ["Trattoria Roma", "Pasta Fresca", "Il Forno"],
    "Japanese": ["Sakura Sushi", "Ramen Ichiban", "Kyoto Table"],
    "Mexican": ["Casa Verde", "Taco Loco", "El Sol Cantina"],
    "Indian": ["Spice Route", "Saffron House", "Taj Kitchen"],
    "Chinese": ["Jade Garden", "Golden Dumpling House", "Red Lantern"],
}
RESTAURANTS_ZH = {
    "川菜": ["蜀香小馆", "老成都川菜馆", "麻辣江湖"],
    "粤菜": ["粤海茶楼", "点都德", "岭南小厨"],
    "日料": ["樱花寿司", "一番拉面", "和风料理"],
    "火锅": ["巴渝老火锅", "九宫格火锅", "牛油锅屋"],
    "西餐": ["罗马餐厅", "橄榄树西餐厅", "城市牛排馆"],
}
DEFINE_ZH = {"ubiquitous": "无处不在的", "ephemeral": "短暂的、转瞬即逝的", "meticulous": "一丝不苟的、非常细致的",
             "ambiguous": "模棱两可的、含糊不清的", "resilient": "有韧性的、能迅速恢复的", "frugal": "节俭的",
             "candid": "坦率的、直言不讳的", "benevolent": "仁慈的、善意的"}
PEOPLE = [("Alice", "alice@example.com"), ("Ben", "ben.wu@example.com"), ("Carla", "carla@example.org"),
          ("David", "d.kim@example.com"), ("Emma", "emma.l@example.net")]


def case_weather(rng: random.Random, lang: str, city: tuple | None = None) -> dict:
    city = city or rng.choice(CITIES)
    loc = city[0] if lang == "en" else city[1]
    temp_c = rng.randint(*city[4])
    plausible = [w for w in WEATHER if not (w[0] == "foggy" and temp_c > 20)]  # fog on a hot day is rare
    cond_en, phrase_en, cond_zh = SNOW if temp_c <= 1 and rng.random() < 0.5 else rng.choice(plausible)
    fahrenheit = lang == "en" and rng.random() < 0.3
    temp = round(temp_c * 9 / 5 + 32) if fahrenheit else temp_c
    unit = "fahrenheit" if fahrenheit else "celsius"
    humidity = rng.randint(30, 95)
    args = {"location": loc, "unit": unit} if fahrenheit or rng.random() < 0.4 else {"location": loc}
    result = {"location": loc, "temperature": temp, "unit": unit,
              "condition": cond_en if lang == "en" else cond_zh, "humidity": humidity}
    if lang == "en":
        user = rng.choice(["What's the weather like in {} right now?", "Can you check the current weather in {}?",
                           "How's the weather in {} at the moment?", "I'm heading out in {}. What's the weather?"]).format(loc)
        if fahrenheit:
            user += " Please give me the temperature in Fahrenheit."
        answer = f"In {loc} it's currently {temp}°{'F' if fahrenheit else 'C'} with {phrase_en} and {humidity}% humidity."
        if temp_c <= 8:
            answer += " It's cold, so dress warmly."
        if "rain" in cond_en:
            answer += " You may want to take an umbrella."
    else:
        user = rng.choice(["{}现在天气怎么样？", "帮我查一下{}的实时天气。", "我在{}，现在出门需要注意什么天气情况吗？",
                           "{}这会儿的天气如何？"]).format(loc)
        answer = f"{loc}当前天气：{cond_zh}，气温{temp}°C，湿度{humidity}%。"
        if temp_c <= 8:
            answer += "天气比较冷，注意保暖。"
        if "雨" in cond_zh:
            answer += "出门记得带伞。"
    return {"user": user, "name": "get_current_weather", "args": args, "result": result, "answer": answer,
            "temp_c": temp_c, "loc": loc, "phrase": phrase_en if lang == "en" else cond_zh}


def case_bmi(rng: random.Random, lang: str) -> dict:
    w, h = rng.randint(45, 110), rng.choice([1.52, 1.58, 1.63, 1.68, 1.70, 1.75, 1.80, 1.85, 1.92])
    bmi = round(w / h**2, 1)
    idx = 0 if bmi < 18.5 else 1 if bmi < 25 else 2 if bmi < 30 else 3
    if lang == "en":
        cat = ["underweight", "healthy weight", "overweight", "obese"][idx]
        user = rng.choice([f"I weigh {w} kg and I'm {h} m tall. What's my BMI?",
                           f"Calculate my BMI: weight {w} kg, height {h} m."])
        answer = f"Your BMI is {bmi}, which is in the {cat} range by the WHO adult categories (18.5 to 24.9 is healthy)."
        if idx != 1:
            answer += " BMI is only a rough screening measure, so a doctor can give advice that fits you better."
    else:
        cat = ["偏瘦", "正常", "超重", "肥胖"][idx]
        user = rng.choice([f"我体重{w}公斤，身高{h}米，帮我算一下BMI。", f"身高{h}米、体重{w}千克，BMI是多少？"])
        answer = f"你的BMI是{bmi}，按照世界卫生组织（WHO）的成人标准属于“{cat}”范围（18.5～24.9为正常）。"
        if idx != 1:
            answer += "BMI只是粗略的筛查指标，具体建议最好咨询医生。"
    return {"user": user, "name": "calculate_bmi", "args": {"weight_kg": w, "height_m": h}, "result": {"bmi": bmi},
            "answer": answer}


def convert(amount: float, src: str, dst: str) -> tuple[float, float]:
    rate = RATES_PER_USD[dst] / RATES_PER_USD[src]
    return float(f"{rate:.6g}"), round(amount * rate, 2)


def case_currency(rng: random.Random, lang: str, amount: float | None = None, src: str | None = None,
                  dst: str | None = None) -> dict:
    codes = list(RATES_PER_USD)
    src = src or rng.choice(codes)
    dst = dst or rng.choice([c for c in codes if c != src])
    amount = amount if amount is not None else rng.choice([50, 100, 250, 500, 1000, 1200, 3000])
    rate, out = convert(amount, src, dst)
    if lang == "en":
        user = rng.choice([f"How much is {num(amount)} {src} in {dst}?",
                           f"Convert {num(amount)} {CURRENCY_EN[src]} to {CURRENCY_EN[dst]}, please."])
        answer = f"{num(amount)} {src} is about {num(out)} {dst}, at an exchange rate of {rate}."
    else:
        user = rng.choice([f"{num_zh(amount)}{CURRENCY_ZH[src]}能换多少{CURRENCY_ZH[dst]}？",
                           f"帮我把{num_zh(amount)}{CURRENCY_ZH[src]}换算成{CURRENCY_ZH[dst]}。"])
        answer = f"按当前汇率{rate}计算，{num_zh(amount)}{CURRENCY_ZH[src]}约合{num_zh(out)}{CURRENCY_ZH[dst]}。"
    return {"user": user, "name": "convert_currency",
            "args": {"amount": amount, "from_currency": src, "to_currency": dst},
            "result": {"converted_amount": out, "rate": rate, "from": src, "to": dst}, "answer": answer}


def case_loan(rng: random.Random, lang: str) -> dict:
    p = rng.choice([20000, 50000, 150000, 250000, 300000, 1000000])
    rate, years = rng.choice([3.5, 4.2, 4.9, 5.5, 6.5]), rng.choice([5, 10, 15, 20, 30])
    r, n = rate / 1200, years * 12
    monthly = round(p * r / (1 - (1 + r) ** -n), 2)
    total = round(monthly * n, 2)
    result = {"monthly_payment": monthly, "total_payment": total, "total_interest": round(total - p, 2)}
    if lang == "en":
        user = f"I'm taking a loan of {num(p)} at {rate}% annual interest for {years} years. What will my monthly payment be?"
        answer = (f"Your monthly payment would be about {num(monthly)}. Over {years} years you would pay {num(total)} in "
                  f"total, of which {num(total - p)} is interest.")
    else:
        user = f"我贷款{p}元，年利率{rate}%，贷{years}年，每个月要还多少？"
        answer = f"按等额本息计算，每月需还款约{num_zh(monthly)}元，{years}年共还款{num_zh(total)}元，其中利息约{num_zh(total - p)}元。"
    return {"user": user, "name": "calculate_loan_payment",
            "args": {"principal": p, "annual_interest_rate": rate, "years": years}, "result": result, "answer": answer}


def case_tip(rng: random.Random, lang: str) -> dict:
    bill, pct = rng.choice([33.2, 45.8, 62.5, 86.4, 120.0, 154.75]), rng.choice([10, 15, 18, 20])
    tip = round(bill * pct / 100, 2)
    total = round(bill + tip, 2)
    people = rng.choice([1, 1, 2, 3, 4])
    if lang == "en":
        user = f"Our bill is ${bill:.2f} and we want to leave a {pct}% tip."
        user += f" How much is the tip and the total, and what does each of the {people} of us pay?" if people > 1 \
            else " How much should we tip?"
        answer = f"The {pct}% tip on ${bill:.2f} is ${tip:.2f}, so the total comes to ${total:.2f}."
        if people > 1:
            answer += f" Split {people} ways, that's about ${total / people:.2f} each."
    else:
        user = f"账单是{num_zh(bill)}元，想给{pct}%的小费，"
        user += f"小费和总额各是多少？我们{people}个人平摊每人多少？" if people > 1 else "小费是多少？"
        answer = f"{num_zh(bill)}元的{pct}%小费是{tip:.2f}元，总计{total:.2f}元。"
        if people > 1:
            answer += f"{people}人平摊的话，每人约{total / people:.2f}元。"
    return {"user": user, "name": "calculate_tip", "args": {"bill_amount": bill, "tip_percentage": pct},
            "result": {"tip_amount": tip, "total_amount": total}, "answer": answer}


def case_recipes(rng: random.Random, lang: str) -> dict:
    ingredients, names = rng.choice(RECIPES if lang == "en" else RECIPES_ZH)
    result = {"recipes": [{"name": n, "uses": ingredients} for n in names]}
    if lang == "en":
        user = f"I have {', '.join(ingredients[:-1])} and {ingredients[-1]}. What can I cook?"
        found = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        answer = f"With those ingredients you could make {found}. Would you like the full recipe for one of them?"
    else:
        user = f"家里有{'、'.join(ingredients)}，能做什么菜？"
        answer = f"用这些食材可以做{'或'.join(names)}。需要我告诉你具体做法吗？"
    return {"user": user, "name": "search_recipes", "args": {"ingredients": ingredients}, "result": result,
            "answer": answer}


def case_distance(rng: random.Random, lang: str, pair: tuple | None = None) -> dict:
    a, b = pair or rng.sample(CITIES, 2)
    km = round(haversine_km(a, b))
    miles = round(km * 0.621371)
    if lang == "en":
        user = rng.choice([f"How far is {a[0]} from {b[0]}?", f"What's the distance between {a[0]} and {b[0]}?"])
        answer = (f"The straight-line (great-circle) distance between {a[0]} and {b[0]} is about {km:,} km "
                  f"({miles:,} miles). Actual travel routes are longer.")
        args = {"origin": a[0], "destination": b[0]}
    else:
        user = rng.choice([f"{a[1]}到{b[1]}有多远？", f"{a[1]}和{b[1]}之间的距离是多少？"])
        answer = f"{a[1]}和{b[1]}之间的直线（大圆）距离约为{km}千米。实际的交通路线会更长一些。"
        args = {"origin": a[1], "destination": b[1]}
    return {"user": user, "name": "calculate_distance", "args": args,
            "result": {"distance_km": km, "distance_miles": miles}, "answer": answer}


def case_days(rng: random.Random, lang: str) -> dict:
    start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
    end = start + dt.timedelta(days=rng.randint(5, 400))
    days = (end - start).days
    if lang == "en":
        user = f"How many days are there between {start.isoformat()} and {end.isoformat()}?"
        answer = f"There are {days} days between {start.strftime('%B')} {start.day}, {start.year} and " \
                 f"{end.strftime('%B')} {end.day}, {end.year}, which is {days // 7} weeks and {days % 7} days."
    else:
        user = f"{start.year}年{start.month}月{start.day}日到{end.year}年{end.month}月{end.day}日相隔多少天？"
        answer = f"这两个日期相隔{days}天，也就是{days // 7}周零{days % 7}天。"
    return {"user": user, "name": "days_between_dates",
            "args": {"start_date": start.isoformat(), "end_date": end.isoformat()}, "result": {"days": days},
            "answer": answer}


def case_temperature(rng: random.Random, lang: str) -> dict:
    src, dst = rng.choice([("celsius", "fahrenheit"), ("fahrenheit", "celsius"), ("celsius", "kelvin"),
                           ("kelvin", "celsius")])
    value = {"celsius": rng.choice([-40, -18, 0, 21, 37, 100, 180]), "fahrenheit": rng.choice([-4, 32, 50, 72, 98.6, 350]),
             "kelvin": rng.choice([0, 77, 273.15, 300, 373.15])}[src]
    c = {"celsius": value, "fahrenheit": (value - 32) * 5 / 9, "kelvin": value - 273.15}[src]
    out = round({"celsius": c, "fahrenheit": c * 9 / 5 + 32, "kelvin": c + 273.15}[dst], 2)
    sym = {"celsius": "°C", "fahrenheit": "°F", "kelvin": "K"}
    zh = {"celsius": "摄氏度", "fahrenheit": "华氏度", "kelvin": "开尔文"}
    if lang == "en":
        user = f"Convert {num(value)} {sym[src]} to {dst.capitalize()}."
        answer = f"{num(value)} {sym[src]} is {num(out)} {sym[dst]}."
    else:
        user = f"{num_zh(value)}{zh[src]}等于多少{zh[dst]}？"
        answer = f"{num_zh(value)}{zh[src]}等于{num_zh(out)}{zh[dst]}。"
    return {"user": user, "name": "convert_temperature", "args": {"value": value, "from_unit": src, "to_unit": dst},
            "result": {"converted_value": out, "unit": dst}, "answer": answer}


def case_discount(rng: random.Random, lang: str, price: float | None = None) -> dict:
    price = price or rng.choice([49.99, 80, 129, 250, 599, 1200, 1999])
    pct = rng.choice([10, 15, 20, 25, 30, 40])
    final = round(price * (100 - pct) / 100, 2)
    result = {"discounted_price": final, "savings": round(price - final, 2)}
    if lang == "en":
        item = rng.choice(["pair of headphones", "coat", "laptop", "bike", "desk chair"])
        user = f"A {item} costs ${num(price)} and it's {pct}% off. What's the final price?"
        answer = f"With {pct}% off, the price drops from ${price:,.2f} to ${final:,.2f}, saving you ${price - final:,.2f}."
    else:
        item = rng.choice(["耳机", "大衣", "笔记本电脑", "自行车", "办公椅"])
        user = f"一款{item}原价{num_zh(price)}元，现在减{pct}%，到手价是多少？"
        answer = f"减{pct}%后，价格从{num_zh(price)}元降到{num_zh(final)}元，省了{num_zh(price - final)}元。"
    return {"user": user, "name": "calculate_discount", "args": {"original_price": price, "discount_percent": pct},
            "result": result, "answer": answer}


def case_calendar(rng: random.Random, lang: str) -> dict:
    day = dt.date(2025, 3, 1) + dt.timedelta(days=rng.randint(0, 200))
    hour, minute = rng.randint(8, 18), rng.choice([0, 30])
    duration = rng.choice([30, 45, 60, 90])
    start = f"{hour:02d}:{minute:02d}"
    event_id = "evt_" + "".join(rng.choice("0123456789abcdef") for _ in range(8))
    if lang == "en":
        title = rng.choice(["Team meeting", "Dentist appointment", "Project review", "Call with Alice", "Yoga class"])
        user = f"Add \"{title}\" to my calendar on {day.isoformat()} at {start} for {duration} minutes."
        answer = f"Done! \"{title}\" is on your calendar for {day.strftime('%B')} {day.day} at {start}, lasting {duration} minutes."
    else:
        title = rng.choice(["部门例会", "看牙医", "项目评审", "和客户通电话", "瑜伽课"])
        user = f"帮我在日历上添加“{title}”，时间是{day.month}月{day.day}日{start}，时长{duration}分钟。"
        answer = f"已添加！“{title}”安排在{day.month}月{day.day}日{start}，时长{duration}分钟。"
    return {"user": user, "name": "create_calendar_event",
            "args": {"title": title, "date": day.isoformat(), "start_time": start, "duration_minutes": duration},
            "result": {"status": "success", "event_id": event_id}, "answer": answer}


def case_email(rng: random.Random, lang: str) -> dict:
    name, address = rng.choice(PEOPLE)
    hour = rng.choice(["2 pm", "3 pm", "4:30 pm", "10 am"])
    if lang == "en":
        subject = "Meeting time changed"
        body = f"Hi {name},\n\nThe meeting has been moved to {hour}. See you then.\n\nBest regards"
        user = f"Send an email to {address} with the subject \"{subject}\" telling {name} the meeting is now at {hour}."
        answer = f"Your email to {name} ({address}) has been sent."
    else:
        hour = {"2 pm": "下午两点", "3 pm": "下午三点", "4:30 pm": "下午四点半", "10 am": "上午十点"}[hour]
        subject = "会议时间调整"
        body = f"{name}你好：\n\n会议改到{hour}举行，届时见。\n\n祝好"
        user = f"给{address}发一封邮件，主题是“{subject}”，告诉{name}会议改到{hour}了。"
        answer = f"邮件已发送给{name}（{address}）。"
    message_id = "msg_" + "".join(rng.choice("0123456789abcdef") for _ in range(10))
    return {"user": user, "name": "send_email", "args": {"to": address, "subject": subject, "body": body},
            "result": {"status": "sent", "message_id": message_id}, "answer": answer}


def case_password(rng: random.Random, lang: str) -> dict:
    length, symbols = rng.choice([12, 16, 20]), rng.random() < 0.6
    chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789" + ("!@#$%^&*-_" if symbols else "")
    password = "".join(rng.choice(chars) for _ in range(length))
    if lang == "en":
        user = f"Generate a {length}-character password{' with symbols' if symbols else ' without symbols'}."
        answer = f"Here is your new password: {password}\nStore it in a password manager rather than in a plain note."
    else:
        user = f"帮我生成一个{length}位的密码，{'要包含特殊符号' if symbols else '不要特殊符号'}。"
        answer = f"新密码是：{password}\n建议保存在密码管理器中，不要明文记在备忘录里。"
    return {"user": user, "name": "generate_password", "args": {"length": length, "include_symbols": symbols},
            "result": {"password": password}, "answer": answer}


def case_factors(rng: random.Random, lang: str, n: int | None = None) -> dict:
    n = n or rng.choice([84, 90, 97, 360, 1001, 2024, 4096, 9999, 65536, 123456, 7919])
    factors = prime_factors(n)
    shown = factorisation(factors)
    if lang == "en":
        user = rng.choice([f"What are the prime factors of {n}?", f"Factor {n} into primes."])
        answer = f"{n} is a prime number." if len(factors) == 1 else f"{n} = {shown}."
    else:
        user = rng.choice([f"{n}的质因数分解是什么？", f"把{n}分解质因数。"])
        answer = f"{n}是质数。" if len(factors) == 1 else f"{n} = {shown}。"
    return {"user": user, "name": "get_prime_factors", "args": {"number": n},
            "result": {"number": n, "factors": factors}, "answer": answer}


def case_area(rng: random.Random, lang: str) -> dict:
    shape = rng.choice(["circle", "rectangle", "triangle"])
    if shape == "circle":
        dims = {"radius": rng.choice([2, 3.5, 5, 10])}
        area = round(math.pi * dims["radius"] ** 2, 2)
    elif shape == "rectangle":
        dims = {"width": rng.randint(2, 12), "length": rng.randint(13, 30)}
        area = dims["width"] * dims["length"]
    else:
        dims = {"base": rng.randint(4, 20), "height": rng.randint(3, 15)}
        area = round(dims["base"] * dims["height"] / 2, 2)
    if lang == "en":
        what = {"circle": f"a circle with a radius of {num(dims.get('radius', 0))} m",
                "rectangle": f"a rectangle {dims.get('width')} m wide and {dims.get('length')} m long",
                "triangle": f"a triangle with a base of {dims.get('base')} m and a height of {dims.get('height')} m"}[shape]
        user, answer = f"What is the area of {what}?", f"The area of {what} is {num(area)} m²."
    else:
        what = {"circle": f"半径{num_zh(dims.get('radius', 0))}米的圆",
                "rectangle": f"宽{dims.get('width')}米、长{dims.get('length')}米的长方形",
                "triangle": f"底{dims.get('base')}米、高{dims.get('height')}米的三角形"}[shape]
        user, answer = f"{what}面积是多少？", f"{what}面积是{num_zh(area)}平方米。"
    return {"user": user, "name": "calculate_area", "args": {"shape": shape, "dimensions": dims},
            "result": {"area": area}, "answer": answer}


def case_definition(rng: random.Random, lang: str) -> dict:
    word, meaning, example = rng.choice(DEFINE_EN)
    if lang == "en":
        user = rng.choice([f"What does \"{word}\" mean?", f"Define the word {word}."])
        answer = f"\"{word.capitalize()}\" means {meaning}. For example: {example}"
    else:
        user = rng.choice([f"英文单词{word}是什么意思？", f"帮我查一下{word}这个词的意思。"])
        answer = f"{word}的意思是“{DEFINE_ZH[word]}”（英文释义：{meaning}）。例句：{example}"
    return {"user": user, "name": "get_word_definition", "args": {"word": word},
            "result": {"word": word, "definition": meaning, "example": example}, "answer": answer}


def case_restaurants(rng: random.Random, lang: str) -> dict:
    city = rng.choice(CITIES)
    table = RESTAURANTS if lang == "en" else RESTAURANTS_ZH
    cuisine = rng.choice(list(table))
    found = [{"name": n, "rating": round(rng.uniform(3.9, 4.9), 1)} for n in table[cuisine]]
    best = max(found, key=lambda r: r["rating"])
    if lang == "en":
        user = f"Can you find some {cuisine} restaurants in {city[0]}?"
        listing = "; ".join(f"{r['name']} ({r['rating']})" for r in found)
        answer = f"Here are {cuisine} restaurants in {city[0]}: {listing}. {best['name']} has the highest rating."
        args = {"location": city[0], "cuisine": cuisine}
    else:
        user = f"帮我找找{city[1]}的{cuisine}餐厅。"
        listing = "；".join(f"{r['name']}（{r['rating']}分）" for r in found)
        answer = f"为你找到{city[1]}的{cuisine}餐厅：{listing}。其中{best['name']}评分最高。"
        args = {"location": city[1], "cuisine": cuisine}
    return {"user": user, "name": "find_nearby_restaurants", "args": args, "result": {"restaurants": found},
            "answer": answer}


CASES = [case_weather, case_bmi, case_currency, case_loan, case_tip, case_recipes, case_distance, case_days,
         case_temperature, case_discount, case_calendar, case_email, case_password, case_factors, case_area,
         case_definition, case_restaurants]


def msg(role: str, value: str) -> dict:
    return {"from": role, "value": value}


def call_msgs(case: dict) -> list[dict]:
    call = json.dumps({"name": case["name"], "arguments": case["args"]}, ensure_ascii=False)
    return [msg("function_call", call), msg("observation", json.dumps(case["result"], ensure_ascii=False))]


def with_distractors(rng: random.Random, names: list[str], k: int) -> list[str]:
    others = [n for n in TOOL_SPECS if n not in names]
    out = list(dict.fromkeys(names)) + rng.sample(others, k)
    rng.shuffle(out)
    return out


def row_single(rng: random.Random, lang: str, case_fn: Callable) -> dict:
    case = case_fn(rng, lang)
    conv = [msg("human", case["user"]), *call_msgs(case), msg("gpt", case["answer"])]
    return {"conversations": conv, "tools": tools_json(with_distractors(rng, [case["name"]], rng.randint(0, 2)), lang)}


def row_two_cities(rng: random.Random, lang: str) -> dict:
    a, b = rng.sample(CITIES, 2)
    ca, cb = case_weather(rng, lang, a), case_weather(rng, lang, b)
    unit = ca["result"]["unit"]  # ask for, and report, both cities in the first one's unit
    cb["args"] = {"location": cb["loc"], "unit": unit} if "unit" in ca["args"] else {"location": cb["loc"]}
    t = cb["temp_c"]
    cb["result"].update(unit=unit, temperature=round(t * 9 / 5 + 32) if unit == "fahrenheit" else t)
    ta, tb = ca["result"]["temperature"], cb["result"]["temperature"]
    if lang == "en":
        u = "F" if ca["result"]["unit"] == "fahrenheit" else "C"
        user = f"What's the weather in {ca['loc']} and {cb['loc']} right now? Which one is warmer?"
        if unit == "fahrenheit":
            user += " Use Fahrenheit, please."
        cmp = f"{ca['loc']} is warmer by {ta - tb}°{u}." if ta > tb else \
            f"{cb['loc']} is warmer by {tb - ta}°{u}." if tb > ta else "Both cities are at the same temperature."
        answer = (f"In {ca['loc']} it's {ta}°{u} with {ca['phrase']} and {ca['result']['humidity']}% humidity. "
                  f"In {cb['loc']} it's {tb}°{u} with {cb['phrase']} and {cb['result']['humidity']}% humidity. {cmp}")
    else:
        user = f"{ca['loc']}和{cb['loc']}现在的天气怎么样？哪边更暖和？"
        cmp = f"{ca['loc']}比{cb['loc']}高{ta - tb}°C。" if ta > tb else \
            f"{cb['loc']}比{ca['loc']}高{tb - ta}°C。" if tb > ta else "两地气温相同。"
        answer = (f"{ca['loc']}：{ca['phrase']}，气温{ta}°C，湿度{ca['result']['humidity']}%；"
                  f"{cb['loc']}：{cb['phrase']}，气温{tb}°C，湿度{cb['result']['humidity']}%。{cmp}")
    conv = [msg("human", user), *call_msgs(ca), *call_msgs(cb), msg("gpt", answer)]
    return {"conversations": conv, "tools": tools_json(with_distractors(rng, ["get_current_weather"], rng.randint(0, 2)), lang)}


def row_discount_then_convert(rng: random.Random, lang: str) -> dict:
    """Two dependent calls: the second call's argument is the first call's result."""
    price = rng.choice([80, 129, 250, 599, 1200])
    d = case_discount(rng, lang, price)
    src, dst = ("USD", rng.choice(["EUR", "GBP", "JPY", "CNY"])) if lang == "en" else ("USD", "CNY")
    final = d["result"]["discounted_price"]
    c = case_currency(rng, lang, final, src, dst)
    pct = d["args"]["discount_percent"]
    if lang == "en":
        user = f"A camera costs {price} USD and is {pct}% off. What is the sale price, and how much is that in {dst}?"
        answer = (f"With {pct}% off, the camera costs {num(final)} USD (you save {num(price - final)} USD). "
                  f"That is about {num(c['result']['converted_amount'])} {dst} at an exchange rate of {c['result']['rate']}.")
    else:
        user = f"一台相机标价{price}美元，打折减{pct}%，折后多少美元？折合人民币多少？"
        answer = (f"减{pct}%后相机售价{num_zh(final)}美元（省了{num_zh(price - final)}美元），按汇率{c['result']['rate']}"
                  f"折合约{num_zh(c['result']['converted_amount'])}元人民币。")
    conv = [msg("human", user), *call_msgs(d), *call_msgs(c), msg("gpt", answer)]
    return {"conversations": conv,
            "tools": tools_json(with_distractors(rng, ["calculate_discount", "convert_currency"], rng.randint(0, 1)), lang)}


def row_gcd(rng: random.Random, lang: str) -> dict:
    a, b = rng.sample([84, 90, 126, 150, 210, 360, 462, 1001, 2024], 2)
    ca, cb = case_factors(rng, lang, a), case_factors(rng, lang, b)
    g = math.gcd(a, b)
    if lang == "en":
        user = f"What are the prime factorisations of {a} and {b}, and what is their greatest common divisor?"
        answer = (f"{a} = {' × '.join(map(str, ca['result']['factors']))} and {b} = "
                  f"{' × '.join(map(str, cb['result']['factors']))}. "
                  + (f"Multiplying the prime factors they share gives their greatest common divisor: {g}." if g > 1
                     else "They share no prime factor, so their greatest common divisor is 1."))
    else:
        user = f"{a}和{b}分别怎样分解质因数？它们的最大公因数是多少？"
        answer = (f"{a} = {' × '.join(map(str, ca['result']['factors']))}，{b} = "
                  f"{' × '.join(map(str, cb['result']['factors']))}。"
                  + (f"把两者共有的质因数相乘，得到最大公因数{g}。" if g > 1 else "两者没有公共的质因数，所以最大公因数是1。"))
    conv = [msg("human", user), *call_msgs(ca), *call_msgs(cb), msg("gpt", answer)]
    return {"conversations": conv, "tools": tools_json(with_distractors(rng, ["get_prime_factors"], rng.randint(0, 2)), lang)}


def row_multi_turn(rng: random.Random, lang: str) -> dict:
    f1, f2 = rng.sample(CASES, 2)
    c1, c2 = f1(rng, lang), f2(rng, lang)
    thanks = rng.choice(["Thanks! ", "Great, thank you. ", "Perfect. ", "OK. "] if lang == "en" else ["谢谢！", "好的。", "明白了。"])
    conv = [msg("human", c1["user"]), *call_msgs(c1), msg("gpt", c1["answer"]),
            msg("human", thanks + c2["user"]), *call_msgs(c2), msg("gpt", c2["answer"])]
    return {"conversations": conv, "tools": tools_json(with_distractors(rng, [c1["name"], c2["name"]], rng.randint(0, 1)), lang)}


CLARIFY = {  # tool -> (vague request, clarifying question) in en and zh
    "calculate_bmi": (("Can you work out my BMI?", "Sure! What is your weight in kilograms and your height in metres?"),
                      ("能帮我算一下BMI吗？", "当然可以！请告诉我你的体重（公斤）和身高（米）。")),
    "calculate_loan_payment": (("I want to know my monthly mortgage payment.",
                                "Happy to help. What is the loan amount, the annual interest rate and the term in years?"),
                               ("我想算算房贷月供。", "好的，请告诉我贷款金额、年利率和贷款年限。")),
    "convert_currency": (("Can you convert some money for me?",
                          "Of course. How much, which currency do you have, and which currency do you want?"),
                         ("能帮我换算一下货币吗？", "可以的，请告诉我金额、原货币和想换成的货币。")),
    "get_current_weather": (("What's the weather like?", "Which city would you like the weather for?"),
                            ("天气怎么样？", "请问你想查询哪个城市的天气？")),
    "calculate_distance": (("How far is it?", "Which two cities would you like me to measure between?"),
                           ("有多远？", "请问你想查询哪两个城市之间的距离？")),
}


def row_clarify(rng: random.Random, lang: str) -> dict:
    name = rng.choice(list(CLARIFY))
    fn = {"calculate_bmi": case_bmi, "calculate_loan_payment": case_loan, "convert_currency": case_currency,
          "get_current_weather": case_weather, "calculate_distance": case_distance}[name]
    case = fn(rng, lang)
    vague, question = CLARIFY[name][0 if lang == "en" else 1]
    conv = [msg("human", vague), msg("gpt", question), msg("human", case["user"]), *call_msgs(case),
            msg("gpt", case["answer"])]
    return {"conversations": conv, "tools": tools_json(with_distractors(rng, [name], rng.randint(0, 2)), lang)}


UNSUPPORTED = [
    ("Can you book me a flight from London to Paris next Friday?", "book flights", "帮我订一张下周五从上海飞北京的机票。", "订机票"),
    ("Please order a large pepperoni pizza to my home.", "place food orders", "帮我点一份披萨外卖送到家。", "点外卖"),
    ("Can you call my mom for me?", "make phone calls", "帮我给我妈妈打个电话。", "打电话"),
    ("Play some relaxing jazz music.", "play music", "放一首轻松的音乐吧。", "播放音乐"),
    ("Turn off the lights in my living room.", "control smart-home devices", "帮我把客厅的灯关掉。", "控制智能家居设备"),
    ("Buy two tickets for tonight's concert.", "buy tickets", "帮我买两张今晚演唱会的门票。", "购买门票"),
    ("Can you transfer 200 dollars to my friend's bank account?", "make bank transfers", "帮我给朋友转账200元。", "转账"),
    ("Please book a table for four at 7 pm.", "make restaurant reservations", "帮我订今晚七点四个人的餐位。", "预订餐位"),
]


def row_direct(rng: random.Random, lang: str, i: int) -> dict:
    names = rng.sample(list(TOOL_SPECS), rng.randint(1, 3))
    can = [TOOL_SPECS[n][4 if lang == "en" else 5] for n in names]
    kind = i % 3
    if kind == 0:  # a request none of the tools can do
        en, what_en, zh, what_zh = UNSUPPORTED[(i // 3) % len(UNSUPPORTED)]
        if lang == "en":
            listing = can[0] if len(can) == 1 else ", ".join(can[:-1]) + " and " + can[-1]
            conv = [msg("human", en), msg("gpt", f"I'm sorry, but I can't {what_en}: I don't have a tool for that. "
                                                  f"I can {listing}. Is there anything I can help you with there?")]
        else:
            conv = [msg("human", zh), msg("gpt", f"抱歉，我没有{what_zh}的工具，暂时无法帮你完成。我目前可以帮你"
                                                  f"{'、'.join(can)}，有需要随时告诉我。")]
    elif kind == 1:  # a question the model answers itself; the tools are irrelevant
        q, a = (QA_EN if lang == "en" else QA_ZH)[(i // 3) % len(QA_EN if lang == "en" else QA_ZH)]
        conv = [msg("human", q), msg("gpt", a)]
    else:  # a greeting / capability question
        if lang == "en":
            listing = can[0] if len(can) == 1 else ", ".join(can[:-1]) + " and " + can[-1]
            q = rng.choice(["Hi! What can you do?", "Hello, what tools do you have?", "What can you help me with?"])
            conv = [msg("human", q), msg("gpt", f"Hi! With the tools I have, I can {listing}. I can also answer general "
                                                f"questions. What would you like to do?")]
        else:
            q = rng.choice(["你好，你能做什么？", "你有哪些工具可以用？", "你能帮我做些什么？"])
            conv = [msg("human", q), msg("gpt", f"你好！借助现有工具，我可以帮你{'、'.join(can)}，也可以回答一般性的问题。"
                                                f"你想做什么呢？")]
    return {"conversations": conv, "tools": tools_json(names, lang)}


def make_toolcall(lang: str) -> list[dict]:
    rng = random.Random(SEED + (3 if lang == "en" else 4))
    rows = []
    for _ in range(4):  # every tool at least four times on its own
        rows += [row_single(rng, lang, fn) for fn in CASES]
    rows += [row_two_cities(rng, lang) for _ in range(6)]
    rows += [row_discount_then_convert(rng, lang) for _ in range(5)]
    rows += [row_gcd(rng, lang) for _ in range(4)]
    rows += [row_multi_turn(rng, lang) for _ in range(12)]
    rows += [row_clarify(rng, lang) for _ in range(10)]
    rows += [row_direct(rng, lang, i) for i in range(30)]
    rows = dedupe(rows, lambda r: json.dumps(r["conversations"], ensure_ascii=False))
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------------------------------
# dpo_{en,zh}_demo.json and kto_en_demo.json: the chosen reply is correct, helpful and polite; the
# rejected one is wrong, unhelpful or rude, so even a tiny model has a clear signal to learn.
# A preference item is (prompt turns, chosen, rejected); prompt turns alternate user / assistant and end
# with a user turn.

# well-known wrong answers (the largest city mistaken for the capital, ...)
CAPITAL_MIXUPS = {"Australia": "Sydney", "Canada": "Toronto", "Turkey": "Istanbul", "Brazil": "Rio de Janeiro",
                  "Switzerland": "Zurich", "New Zealand": "Auckland", "Nigeria": "Lagos", "India": "Mumbai",
                  "the United States": "New York City", "Vietnam": "Ho Chi Minh City"}
CAPITAL_MIXUPS_ZH = {"澳大利亚": "悉尼", "加拿大": "多伦多", "土耳其": "伊斯坦布尔", "巴西": "里约热内卢",
                     "瑞士": "苏黎世", "新西兰": "奥克兰", "尼日利亚": "拉各斯", "印度": "孟买", "美国": "纽约",
                     "越南": "胡志明市"}
PROVINCE_MIXUPS_ZH = {"山东": "青岛", "辽宁": "大连", "福建": "厦门", "江苏": "苏州", "广东": "深圳",
                      "内蒙古": "包头", "云南": "大理", "河北": "唐山", "浙江": "宁波"}

WRONG_FACTS_EN = {
    "How many bones are in the adult human body?": "An adult human has 312 bones.",
    "At what temperature does water boil?": "Water boils at 50 °C at sea level.",
    "Who wrote Romeo and Juliet?": "Romeo and Juliet was written by Charles Dickens.",
    "What is the largest ocean on Earth?": "The Atlantic Ocean is the largest ocean on Earth.",
    "What is the chemical formula of water?": "The chemical formula of water is CO2.",
    "What is the largest planet in the solar system?": "Saturn is the largest planet in the solar system.",
    "How fast does light travel?": "Light travels at about 300 kilometres per hour.",
    "What causes ocean tides?": "Tides are caused by wind blowing across the ocean.",
    "Why is the sky blue?": "The sky is blue because it reflects the colour of the oceans.",
    "What is the tallest mountain in the world?": "The tallest mountain in the world is Mont Blanc.",
    "How many continents are there?": "There are twelve continents.",
    "Why do we have leap years?": "Leap years exist because the Moon slows Earth down every four years.",
    "What is photosynthesis?": "Photosynthesis is how animals turn food into energy while they sleep.",
    "What does HTTP stand for?": "HTTP stands for High Traffic Transfer Program.",
}
WRONG_FACTS_ZH = {
    "成年人有多少块骨头？": "成年人有312块骨头。",
    "水的沸点是多少？": "在一个标准大气压下，水的沸点是50摄氏度。",
    "世界上最大的海洋是哪个？": "世界上最大的海洋是大西洋。",
    "水的化学式是什么？": "水的化学式是CO2。",
    "太阳系中最大的行星是哪颗？": "太阳系中最大的行星是土星。",
    "光速是多少？": "光速大约是每小时300千米。",
    "潮汐是怎么形成的？": "潮汐是海面上的大风吹出来的。",
    "天空为什么是蓝色的？": "因为天空反射了大海的颜色，所以是蓝色的。",
    "世界上最高的山峰是哪座？": "世界最高峰是泰山。",
    "中国的四大发明是什么？": "中国的四大发明是丝绸、瓷器、茶叶和长城。",
    "中国最长的河流是哪条？": "中国最长的河流是黄河。",
    "为什么会有闰年？": "因为每四年月亮会让地球转得慢一点，所以要加一天。",
}

ADVICE_EN = [
    ("How can I improve my sleep?",
     "A few habits help most people sleep better:\n1. Keep a regular schedule, even at weekends.\n2. Keep the "
     "bedroom dark, quiet and cool.\n3. Avoid caffeine after lunch and heavy meals late in the evening.\n"
     "4. Put screens away for the last 30 minutes before bed.\n5. Get daylight and some exercise during the day.\n"
     "If poor sleep lasts for weeks, it's worth talking to a doctor.",
     "Just sleep more. It's not complicated."),
    ("I'm nervous about a job interview tomorrow. Any advice?",
     "Feeling nervous is normal, and it shows you care. Tonight, reread the job description and think of two or "
     "three examples from your experience that match it. Prepare a couple of questions to ask them, lay out "
     "your clothes, and plan to arrive ten minutes early. Then get a good night's sleep. Good luck!",
     "Everyone gets nervous. Deal with it."),
    ("How do I start learning Python?",
     "Install Python from python.org and a simple editor such as VS Code. Work through a beginner tutorial (the "
     "official Python tutorial is a good free one), typing out the examples yourself. After the basics "
     "(variables, loops, functions, lists), build small projects you care about, like a to-do list or a quiz. "
     "Practising a little every day works better than long, rare sessions.",
     "Programming is too hard for most people. I wouldn't bother."),
    ("What's a good way to save money each month?",
     "Start by tracking what you spend for a month so you can see where the money goes. Then set up an "
     "automatic transfer to a savings account on payday, even a small amount, so saving happens first. Cancel "
     "subscriptions you don't use, plan meals to cut food waste, and wait a day before non-essential purchases.",
     "Just stop buying stuff, obviously."),
    ("My Python code throws 'IndexError: list index out of range'. What does that mean?",
     "It means the code tried to read a list position that doesn't exist. A list of length 3 has indices 0, 1 "
     "and 2, so `items[3]` fails. Common causes are loops that go one step too far (for example "
     "`range(len(items) + 1)`) or an empty list. Print the list's length and the index just before the error "
     "to find the problem.",
     "Your computer is broken. Buy a new one."),
    ("How do I politely decline a meeting invitation?",
     "Thank them, give a short reason if you can, and offer an alternative. For example: \"Thanks for the "
     "invitation. I have a conflict at that time, but I'd be glad to read the notes afterwards or join a later "
     "session.\"",
     "Just ignore it. They'll get the message."),
    ("Can you explain what a variable is in programming?",
     "A variable is a name that refers to a value stored in memory. For example, `age = 30` stores the value 30 "
     "under the name `age`; later you can read it (`print(age)`) or change it (`age = 31`). Variables let "
     "programs remember and reuse data.",
     "It's a thing in code. Google it."),
    ("How do I remove a coffee stain from a cotton shirt?",
     "Act quickly: blot (don't rub) the excess, then rinse the stain from the back with cold water. Rub in a "
     "little liquid laundry detergent, leave it for 5 to 10 minutes, and wash as usual. Check that the stain is "
     "gone before drying, because heat can set it.",
     "Throw the shirt away and buy a new one."),
    ("Give me a tip for remembering new vocabulary.",
     "Use spaced repetition: review new words after a day, then after a few days, then after a week or two. "
     "Flashcard apps such as Anki schedule this for you. It also helps to use each new word in a sentence of "
     "your own.",
     "Just have a better memory."),
    ("How often should I water a cactus?",
     "Water a cactus only when its soil has dried out completely. During spring and summer that is often every "
     "two to three weeks; in winter, when it rests, once a month or less. Too much water is the most common "
     "way cacti die, so use a pot with a drainage hole.",
     "Every day, with plenty of water, like any other plant."),
    ("What's the difference between 'affect' and 'effect'?",
     "In most cases, \"affect\" is a verb meaning to influence (\"The rain affected the game\"), and \"effect\" is "
     "a noun meaning a result (\"The rain had an effect on the game\"). A simple memory aid: Affect is the "
     "Action, Effect is the End result.",
     "They mean exactly the same thing, so use either."),
    ("Is it safe to look directly at the Sun?",
     "No. Looking at the Sun, even briefly or during a partial eclipse, can permanently damage the retina. "
     "Ordinary sunglasses don't protect you; use certified solar-eclipse glasses or indirect methods such as a "
     "pinhole projector.",
     "Sure, a few minutes is fine."),
    ("How long should I boil an egg to get a hard yolk?",
     "Put the egg into boiling water and cook it for about 10 to 12 minutes, then cool it in cold water so it is "
     "easier to peel. Very large eggs may need a minute more.",
     "About 30 seconds."),
    ("How can I stay motivated to exercise?",
     "Choose an activity you actually enjoy, set small, specific goals (for example three 20-minute walks this "
     "week), and schedule them like appointments. Exercising with a friend and tracking your progress also "
     "help, and it's fine to start small.",
     "If you aren't motivated, you're just lazy."),
    ("Thank you for your help earlier!", "You're welcome! I'm glad it helped. Let me know if you need anything else.",
     "Whatever."),
    ("How do I make a strong password?",
     "Use a long passphrase of four or more random words, or at least 12 random characters, and never reuse it "
     "on another site. A password manager can create and remember unique passwords for you, and turning on "
     "two-factor authentication adds another layer of protection.",
     "Use 'password123'. It's easy to remember."),
    ("My friend is upset with me. How can I apologise?",
     "Talk to them in person or by call if you can. Say specifically what you did and that you're sorry, "
     "without adding excuses (\"I'm sorry I missed your birthday dinner; I know it mattered to you\"). Ask how "
     "they feel and listen, and say what you'll do differently next time.",
     "Don't apologise. It makes you look weak."),
    ("How can I make my presentation more engaging?",
     "Open with a question, story or surprising fact; keep slides simple, with few words and clear visuals; "
     "and speak to the audience rather than reading. Rehearse aloud a few times, and leave time for questions "
     "at the end.",
     "Nobody pays attention to presentations anyway, so it doesn't matter."),
]

CODE_PAIRS = [  # (request en, request zh, correct code, buggy code)
    ("Write a Python function that returns the factorial of n.", "用Python写一个计算n的阶乘的函数。",
     "```python\ndef factorial(n):\n    result = 1\n    for k in range(2, n + 1):\n        result *= k\n    return result\n```",
     "```python\ndef factorial(n):\n    result = 1\n    for k in range(1, n):\n        result *= k\n    return result\n```"),
    ("Write a Python function that checks whether a number is even.", "用Python写一个判断整数是否为偶数的函数。",
     "```python\ndef is_even(n):\n    return n % 2 == 0\n```",
     "```python\ndef is_even(n):\n    return n % 2 == 1\n```"),
    ("Write a Python function that reverses a list.", "用Python写一个反转列表的函数。",
     "```python\ndef reverse_list(items):\n    return items[::-1]\n```",
     "```python\ndef reverse_list(items):\n    items.sort(reverse=True)\n    return items\n```"),
    ("Write a Python function that returns the sum of a list of numbers.", "用Python写一个求列表元素之和的函数。",
     "```python\ndef total(numbers):\n    result = 0\n    for x in numbers:\n        result += x\n    return result\n```",
     "```python\ndef total(numbers):\n    result = 1\n    for x in numbers:\n        result += x\n    return result\n```"),
    ("Write a Python function that finds the largest number in a list without using max().",
     "不使用max()，用Python写一个找出列表最大值的函数。",
     "```python\ndef largest(numbers):\n    best = numbers[0]\n    for x in numbers[1:]:\n        if x > best:\n"
     "            best = x\n    return best\n```",
     "```python\ndef largest(numbers):\n    best = 0\n    for x in numbers:\n        if x < best:\n            best = x\n"
     "    return best\n```"),
    ("Write a Python function that counts the vowels in a string.", "用Python写一个统计字符串中元音字母个数的函数。",
     "```python\ndef count_vowels(text):\n    return sum(1 for ch in text.lower() if ch in \"aeiou\")\n```",
     "```python\ndef count_vowels(text):\n    return sum(1 for ch in text.lower() if ch not in \"aeiou\")\n```"),
    ("Write an SQL query that counts the rows in the orders table.", "写一条SQL语句，统计orders表有多少行。",
     "```sql\nSELECT COUNT(*) FROM orders;\n```", "```sql\nSELECT * FROM orders;\n```"),
    ("Write a JavaScript function that checks whether an array contains a value.",
     "用JavaScript写一个判断数组是否包含某个值的函数。",
     "```javascript\nfunction contains(arr, x) {\n  return arr.includes(x);\n}\n```",
     "```javascript\nfunction contains(arr, x) {\n  return arr.indexOf(x) > 0;\n}\n```"),
]

ADVICE_ZH = [
    ("怎样才能提高睡眠质量？",
     "可以从这几方面入手：\n1. 每天固定时间睡觉和起床，周末也尽量保持。\n2. 卧室保持黑暗、安静、凉爽。\n"
     "3. 午后少喝咖啡和浓茶，晚饭不要吃得过饱。\n4. 睡前半小时放下手机。\n5. 白天多晒太阳、适量运动。\n"
     "如果失眠持续几周，建议去医院咨询医生。",
     "多睡不就行了，这有什么好问的。"),
    ("明天要面试，我很紧张，有什么建议？",
     "紧张很正常，说明你很重视。今晚可以再看一遍岗位要求，准备两三个能体现你能力的经历；想好一两个想问面试官的问题；"
     "提前准备好衣服，规划路线，争取提前十分钟到。最后早点休息，祝你顺利！",
     "紧张说明你没准备好，随便吧。"),
    ("零基础怎么开始学Python？",
     "先从官网安装Python，再装一个简单的编辑器（比如VS Code）。跟着一份入门教程（官方教程就很好）学习变量、循环、"
     "函数、列表等基础，并亲手敲一遍示例代码。掌握基础后，做一些自己感兴趣的小项目，比如记账本或小测验。每天练一点，"
     "比偶尔学很久效果更好。",
     "编程太难了，普通人学不会，别浪费时间了。"),
    ("怎样每个月存下一些钱？",
     "先记一个月的账，弄清钱花在哪里；发工资当天自动转一笔钱到储蓄账户，哪怕金额不大，做到“先存后花”；取消不用的会员订阅，"
     "提前规划三餐减少外卖；非必需品想买时先等一天再决定。",
     "少花钱不就行了，这还用问？"),
    ("白衬衫上沾了咖啡渍怎么办？",
     "要尽快处理：先用纸巾吸掉多余的咖啡（不要来回搓），再用冷水从衣服背面冲洗污渍。然后抹上少量洗衣液轻轻揉搓，"
     "静置5到10分钟后正常清洗。确认污渍洗净之前不要烘干或熨烫，高温会让污渍固定。",
     "直接扔了买件新的吧。"),
    ("仙人掌多久浇一次水？",
     "仙人掌要“见干见湿”，等盆土完全干透再浇透。春夏生长季一般两到三周浇一次，冬季休眠期一个月一次甚至更少。"
     "浇水过多是仙人掌死亡最常见的原因，花盆最好有排水孔。",
     "每天浇一大杯水，跟其他花一样。"),
    ("怎么委婉地拒绝同事的聚餐邀请？",
     "先表示感谢，简单说明原因，再给出替代方案。比如：“谢谢邀请！那天晚上我已经有安排了，下次有机会一定参加，"
     "你们玩得开心！”",
     "直接不回消息就好，他们自然就明白了。"),
    ("直视太阳安全吗？",
     "不安全。直视太阳，哪怕时间很短或是在日偏食期间，都可能永久损伤视网膜。普通墨镜起不到保护作用，"
     "观测日食要使用合格的专用日食眼镜，或者用小孔成像等间接方法。",
     "没关系，看几分钟没事。"),
    ("煮鸡蛋要煮多久才能全熟？",
     "把鸡蛋放入沸水中，煮10到12分钟就能全熟；煮好后放进冷水里过一下，更容易剥壳。鸡蛋特别大时可以多煮一分钟。",
     "煮30秒就熟了。"),
    ("怎样设置一个安全的密码？",
     "密码要足够长：可以用四个以上随机词语组成的短语，或者至少12位的随机字符；不同网站不要重复使用同一个密码。"
     "可以用密码管理器生成和保存密码，并开启两步验证。",
     "用123456就好，好记。"),
    ("朋友生我的气了，我该怎么道歉？",
     "尽量当面或打电话沟通。具体说出自己哪里做得不对并真诚道歉，不要找借口，比如“对不起，我错过了你的生日聚会，"
     "我知道这对你很重要”。然后听听对方的感受，并说明以后会怎么改进。",
     "别道歉，道歉显得你很弱。"),
    ("谢谢你刚才的帮助！", "不客气！很高兴能帮到你，还有其他问题随时问我。", "哦。"),
    ("“的”“地”“得”怎么区分？",
     "“的”一般用在名词前面作定语，如“美丽的花”；“地”用在动词前面作状语，如“认真地学习”；“得”用在动词或形容词后面，"
     "引出补语，如“跑得很快”“高兴得跳起来”。",
     "随便用，三个字没有区别。"),
    ("怎样让演讲更吸引人？",
     "开头可以用一个问题、小故事或令人意外的数据抓住听众；幻灯片尽量简洁，少放文字、多用清晰的图；"
     "讲的时候看着听众而不是念稿。提前大声练习几遍，结尾留出提问时间。",
     "反正没人认真听，不用准备。"),
    ("运动总是坚持不下来，怎么办？",
     "选一项自己真正喜欢的运动，定小而具体的目标（比如这周快走三次、每次20分钟），并像约会一样排进日程。"
     "找朋友一起运动、记录进步也很有帮助，从小量开始就好。",
     "坚持不下来就是懒，没什么好说的。"),
]


def prefs_en(rng: random.Random) -> list[tuple]:
    items = []
    for country, capital, *_ in COUNTRIES:
        wrong = CAPITAL_MIXUPS.get(country) or rng.choice([c[1] for c in COUNTRIES if c[1] != capital])
        chosen = f"The capital of {country} is {capital}."
        if country in CAPITAL_MIXUPS:
            chosen += f" (Many people guess {wrong}, but that is not the capital.)"
        rejected = rng.choice([f"The capital of {country} is {wrong}.", "Look it up yourself."])
        items.append(([f"What is the capital of {country}?"], chosen, rejected))
    qa = dict(QA_EN)
    for q, wrong in WRONG_FACTS_EN.items():
        items.append(([q], qa[q], wrong))
    for _ in range(16):
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        op = rng.choice(["+", "-", "×"])
        val = {"+": a + b, "-": a - b, "×": a * b}[op]
        off = rng.choice([-10, -2, -1, 1, 2, 10])
        q = rng.choice([f"What is {a} {op} {b}?", f"Calculate {a} {op} {b}."])
        items.append(([q], f"{a} {op} {b} = {val}.", rng.choice([f"{a} {op} {b} = {val + off}.", "Use a calculator."])))
    for _ in range(6):
        price, off = rng.choice([40, 60, 80, 120, 250]), rng.choice([10, 20, 25, 50])
        sale = price * (100 - off) // 100
        items.append(([f"A ${price} item is {off}% off. What do I pay?"],
                       f"{off}% of ${price} is ${price * off // 100}, so you pay ${price} − ${price * off // 100} = ${sale}.",
                       f"You pay ${price + price * off // 100}."))  # added instead of taken off
    for c in [20, 37, 100, -10, 25]:  # the rejected "add 32" answer is wrong for every one of these
        f = c * 9 / 5 + 32
        items.append(([f"What is {c} °C in Fahrenheit?"], f"{c} °C = {c} × 9/5 + 32 = {num(f)} °F.",
                       f"{c} °C is {num(c + 32)} °F."))
    for en, zh, es, fr in TRANSLATIONS:
        lang, good = rng.choice([("Chinese", zh), ("Spanish", es), ("French", fr)])
        items.append(([f"Translate into {lang}: {en}"], good, rng.choice([en, "I don't feel like translating that."])))
    for instruction, text, fixed in REWRITE_EN:
        if instruction.startswith("Correct the grammar"):
            items.append(([f"Correct the grammar in this sentence: {text}"], fixed,
                           f"The sentence is already correct: {text}"))
    for q, good, bad in ADVICE_EN:
        items.append(([q], good, bad))
    for req, _, good, bad in CODE_PAIRS:
        items.append(([req], good, bad))
    for i in range(0, 16, 2):  # follow-up questions that depend on the previous turn
        (c1, k1, *_), (c2, k2, *_) = COUNTRIES[i], COUNTRIES[i + 17]
        items.append(([f"What is the capital of {c1}?", f"The capital of {c1} is {k1}.", f"And what about {c2}?"],
                      f"The capital of {c2} is {k2}.", f"The capital of {c2} is also {k1}."))
    for _ in range(6):
        a, b = rng.randint(3, 15), rng.randint(3, 15)
        d = rng.choice([x for x in range(2, 16) if (a * b) % x == 0])  # a (3..15) divides a * b: never empty
        items.append(([f"What is {a} × {b}?", f"{a} × {b} = {a * b}.", f"Now divide that by {d}."],
                      f"{a * b} ÷ {d} = {a * b // d}.", f"{a * b} ÷ {d} = {a * b // d + rng.choice([1, 3, 5])}."))
    return items


def prefs_zh(rng: random.Random) -> list[tuple]:
    items = []
    for *_, country, capital, _, _ in COUNTRIES:
        wrong = CAPITAL_MIXUPS_ZH.get(country) or rng.choice([c[5] for c in COUNTRIES if c[5] != capital])
        chosen = f"{country}的首都是{capital}。"
        if country in CAPITAL_MIXUPS_ZH:
            chosen += f"很多人以为是{wrong}，但{wrong}并不是首都。"
        items.append(([f"{country}的首都是哪里？"], chosen, rng.choice([f"{country}的首都是{wrong}。", "自己去查。"])))
    for province, capital in PROVINCES_ZH:
        seat = "首府" if province in AUTONOMOUS_REGIONS_ZH else "省会"
        wrong = PROVINCE_MIXUPS_ZH.get(province) or rng.choice([c for _, c in PROVINCES_ZH if c != capital])
        items.append(([f"{province}的{seat}是哪个城市？"], f"{province}的{seat}是{capital}。", f"{province}的{seat}是{wrong}。"))
    qa = dict(QA_ZH)
    for q, wrong in WRONG_FACTS_ZH.items():
        items.append(([q], qa[q], wrong))
    for k, (idiom, meaning, example) in enumerate(IDIOMS_ZH):
        other = IDIOMS_ZH[(k + 5) % len(IDIOMS_ZH)][1]
        items.append(([f"成语“{idiom}”是什么意思？"], f"“{idiom}”{meaning[:-1] if meaning.startswith('比喻') else '的意思是' + meaning[:-1]}。例句：{example}",
                      f"“{idiom}”{other}" if other.startswith("比喻") else f"“{idiom}”的意思是{other}"))
    poets = sorted({p for _, p, _, _ in POEMS_ZH})
    for title, poet, dynasty, first in POEMS_ZH:
        wrong = rng.choice([p for p in poets if p != poet])
        items.append(([f"《{title}》是谁写的？"], f"《{title}》的作者是{dynasty}代的{poet}，首句是“{first}”。".replace("北宋代", "北宋"),
                      f"《{title}》是{wrong}写的。"))
    for _ in range(14):
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        op = rng.choice(["+", "-", "×"])
        val = {"+": a + b, "-": a - b, "×": a * b}[op]
        items.append(([f"{a} {op} {b} 等于多少？"], f"{a} {op} {b} = {val}。",
                      rng.choice([f"{a} {op} {b} = {val + rng.choice([-10, -1, 1, 10])}。", "自己用计算器算。"])))
    for bad, fixed, why in FIX_SENTENCES_ZH:
        items.append(([f"修改病句：{bad}"], f"{fixed}\n（{why}）", f"这句话没有问题：{bad}"))
    for q, good, bad in ADVICE_ZH:
        items.append(([q], good, bad))
    for _, req, good, bad in CODE_PAIRS:
        items.append(([req], good, bad))
    for i in range(0, 16, 2):
        c1, c2 = COUNTRIES[i], COUNTRIES[i + 17]
        items.append(([f"{c1[4]}的首都是哪里？", f"{c1[4]}的首都是{c1[5]}。", f"那{c2[4]}呢？"],
                      f"{c2[4]}的首都是{c2[5]}。", f"{c2[4]}的首都也是{c1[5]}。"))
    return items


def to_dpo(items: list[tuple]) -> list[dict]:
    rows = []
    for turns, chosen, rejected in items:
        conv = [msg("human" if k % 2 == 0 else "gpt", t) for k, t in enumerate(turns)]
        rows.append({"conversations": conv, "chosen": msg("gpt", chosen), "rejected": msg("gpt", rejected)})
    return rows


def make_dpo(lang: str) -> list[dict]:
    rng = random.Random(SEED + (5 if lang == "en" else 6))
    items = prefs_en(rng) if lang == "en" else prefs_zh(rng)
    rows = dedupe(to_dpo(items), lambda r: json.dumps(r["conversations"], ensure_ascii=False))
    rng.shuffle(rows)
    return rows


def make_kto() -> list[dict]:
    """Each preference item becomes one KTO row: alternately its good reply (label true) or its bad one."""
    rng = random.Random(SEED + 7)
    rows = []
    for k, (turns, chosen, rejected) in enumerate(prefs_en(rng)):
        good = k % 2 == 0
        messages = [{"role": "user" if j % 2 == 0 else "assistant", "content": t} for j, t in enumerate(turns)]
        messages.append({"role": "assistant", "content": chosen if good else rejected})
        rows.append({"messages": messages, "label": good})
    rows = dedupe(rows, lambda r: json.dumps(r["messages"], ensure_ascii=False))
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------------------------------
# c4_demo.jsonl: paragraph-like web text (recipe blogs, reviews, travel notes, notices, how-tos, ...).
# Each genre is a list of slots; a paragraph takes one sentence per slot and fills the placeholders.

DISHES = [("lemon garlic chicken", "chicken"), ("vegetable curry", "onions"), ("tomato and basil pasta", "tomatoes"),
          ("beef stir-fry", "beef"), ("mushroom risotto", "mushrooms"), ("black bean chili", "onions"),
          ("salmon traybake", "potatoes"), ("egg fried rice", "garlic"), ("lentil soup", "carrots")]
PRODUCTS = ["wireless headphones", "electric kettle", "robot vacuum", "standing desk", "coffee grinder",
            "fitness tracker", "air fryer", "mechanical keyboard", "desk lamp"]  # all plug in, so every remark fits
TRAVEL = ["Lisbon", "Kyoto", "Vienna", "Edinburgh", "Chengdu", "Seville", "Prague", "Hanoi", "Copenhagen", "Porto"]
GARDEN_TASKS = [("Autumn", "plant spring-flowering bulbs such as tulips and daffodils"),
                ("Early spring", "sow tomato seeds indoors"), ("Late winter", "prune apple trees"),
                ("Late spring", "plant out tomato seedlings once the last frost has passed"),
                ("Summer", "harvest herbs and dry them for winter"), ("Autumn", "collect fallen leaves to make leaf mould")]
EASY_PLANTS = ["Courgettes", "Sunflowers", "Marigolds", "Radishes", "Nasturtiums", "Lettuces"]
EVENTS = ["book swap", "coding workshop for teenagers", "repair café", "first-aid course", "gardening talk",
          "family film night", "job fair", "board game afternoon"]
PLACES = ["public library", "community centre", "town hall", "primary school hall", "neighbourhood sports club"]
TECH_PROBLEMS = [
    ("laptop", "is running slowly",
     ["Restart it; many slowdowns disappear after a reboot.",
      "Check which programs start automatically and disable the ones you don't need.",
      "Make sure at least 10 to 15 percent of the disk is free.", "Install any pending system updates."]),
    ("phone", "loses its charge too quickly",
     ["Lower the screen brightness or turn on automatic brightness.",
      "Open the battery settings to see which apps use the most power.",
      "Turn off background refresh for apps you rarely use.",
      "Update the system software, which often includes battery fixes."]),
    ("router", "keeps dropping the Wi-Fi connection",
     ["Restart the router and wait a full minute before switching it back on.",
      "Move it to a central, raised spot away from thick walls and microwaves.",
      "Update the router's firmware from its admin page.",
      "If your neighbours' networks are crowded, switch to a less busy channel."]),
    ("printer", "refuses to print",
     ["Check that it is switched on, has paper and isn't showing an error light.",
      "Clear the print queue on your computer and try again.",
      "Make sure the printer and the computer are on the same network.",
      "Reinstall the printer driver from the manufacturer's website."]),
    ("computer", "keeps warning that the disk is almost full",
     ["Empty the recycle bin.", "Delete large files you no longer need, such as old downloads and videos.",
      "Uninstall programs you don't use.", "Move photos to an external drive or cloud storage."]),
]
PETS = {
    "dog": ["Set up a quiet corner with a bed and a bowl of fresh water.",
            "Short, frequent training sessions with rewards work better than long ones.",
            "Book a check-up with a vet in the first week.", "Walks at the same times each day help build a routine."],
    "cat": ["Give your cat one quiet room at first, with food, water and a litter tray.",
            "Keep the litter tray well away from the food bowls.",
            "A scratching post will save your furniture.", "Book a check-up with a vet in the first week."],
    "rabbit": ["Rabbits need far more space to hop and stretch than most hutches offer.",
               "Hay should make up most of a rabbit's diet.",
               "Rabbits are social animals and are usually happier in pairs.",
               "Rabbit-proof your cables, because rabbits love to chew."],
}


def c4_paragraph(rng: random.Random, genre: int) -> str:
    pick = rng.choice
    if genre == 0:
        dish, ing = pick(DISHES)
        minutes = pick([20, 25, 30, 40])
        parts = [pick([f"This {dish} has become one of our favourite weeknight dinners.",
                       f"If you only learn one new recipe this month, make it this {dish}.",
                       f"I've been making this {dish} for years, and it never lets me down.",
                       f"My kids ask for this {dish} at least once a week."]),
                 pick([f"It comes together in about {minutes} minutes and uses ingredients you probably already have.",
                       "Everything cooks in one pan, so there's very little washing up.",
                       f"The secret is to let the {ing} brown properly before adding anything else."]),
                 pick(["Don't skip the squeeze of lemon at the end; it brightens the whole dish.",
                       f"If you can't find fresh {ing}, frozen works fine.", "Season as you go and taste before serving.",
                       "A pinch of chilli flakes adds gentle heat without overpowering anything."]),
                 pick(["Serve it with crusty bread or a simple green salad.",
                       "Leftovers keep in the fridge for up to three days.",
                       "It also freezes well, so I often make a double batch.",
                       "We like it with steamed rice, but noodles work too."]),
                 pick(["Let me know in the comments if you try it!", "Scroll down for the printable recipe card.",
                       "Happy cooking!", ""])]
    elif genre == 1:
        product = pick(PRODUCTS)
        parts = [pick([f"I've been using this {product} for about {pick([2, 3, 6, 8])} weeks now, and here are my honest thoughts.",
                       f"I bought this {product} to replace an old one that finally gave up.",
                       f"After reading far too many reviews, I decided to give this {product} a try."]),
                 pick(["Setup took less than ten minutes, and the instructions were clear.",
                       "The build quality feels solid for the price.", "It does exactly what it promises, and it does it quietly.",
                       "It arrived well packaged and worked straight out of the box."]),
                 pick(["My only complaint is that the power cable is a little short.", "It's a bit heavier than I expected.",
                       "The buttons are a little stiff at first.", "The colour is slightly different from the photos."]),
                 pick([f"Overall, I'd give it {pick([3, 4, 5])} out of 5.", "For the price, it's hard to beat.",
                       "I'd recommend it to anyone on a budget.", "Would I buy it again? Probably, yes."])]
    elif genre == 2:
        city = pick(TRAVEL)
        parts = [pick([f"We spent {pick(['three', 'four', 'five'])} days in {city} last {pick(['spring', 'autumn', 'summer'])}, "
                       "and it was the highlight of our trip.",
                       f"{city} had been on my list for years, so when I found a cheap flight I booked it straight away.",
                       f"This is the second part of our {city} travel diary."]),
                 pick(["The best way to get around is on foot and by public transport; we never needed a taxi.",
                       "We stayed in a small guesthouse a short walk from the old town.",
                       "Our favourite morning was spent wandering through a local market, tasting everything.",
                       "Popular museums get busy, so book tickets online and go early."]),
                 pick(["The food alone is worth the trip.",
                       "We ate at a different small restaurant every night and were never disappointed.",
                       "Don't leave without trying the street food."]),
                 pick(["Pack comfortable shoes; you'll walk more than you think.",
                       "Carry a refillable water bottle, especially in summer.",
                       "Learn a few words of the local language; people really appreciate it.",
                       "Check opening hours before you go, since some places close one day a week."]),
                 pick(["We're already planning our next visit.", "Have you been? Share your tips below.", ""])]
    elif genre == 3:
        season, task = pick(GARDEN_TASKS)
        plant = pick(EASY_PLANTS)
        parts = [pick([f"{season} is a good time to {task}.",
                       f"A lot of readers have asked when to {task}. In my garden, {season.lower()} works best."]),
                 pick(["Choose a spot that gets at least six hours of sunlight a day.",
                       "Good drainage matters more than most people think, so mix compost into heavy soil.",
                       "Water deeply but less often, so the roots grow down instead of staying near the surface.",
                       "A layer of mulch keeps the soil moist and cuts down on weeding."]),
                 pick([f"If you're just starting out, {plant.lower()} are forgiving and grow quickly.",
                       f"I've had great results with {plant.lower()}, which need little attention once established."]),
                 pick(["Happy gardening!", "Next week I'll write about dealing with slugs without chemicals.", ""])]
    elif genre == 4:
        place, event = pick(PLACES), pick(EVENTS)
        day, time = pick(["this Saturday", "next Tuesday", "the first Sunday of next month"]), \
            pick(["10 am to 1 pm", "2 to 4 pm", "6 to 8 pm"])
        parts = [pick([f"The {place} will host a free {event} {day} from {time}.",
                       f"Join us {day} from {time} for a {event} at the {place}."]),
                 pick(["Everyone is welcome, and no registration is required.",
                       "Places are limited, so please sign up at the front desk or on our website.",
                       "Volunteers will be on hand to answer questions.", "Light refreshments will be provided."]),
                 pick(["Children under 12 must be accompanied by an adult.", "The building is wheelchair accessible.",
                       "Parking is available behind the building.", "Please bring your own reusable cup."]),
                 pick(["For more information, call the office during opening hours.", "We look forward to seeing you there!"])]
    elif genre == 5:
        device, problem, fixes = pick(TECH_PROBLEMS)
        chosen = rng.sample(fixes, 3)
        parts = [pick([f"If your {device} {problem}, don't rush out to buy a new one.",
                       f"Here's a quick checklist for a problem I hear about all the time: a {device} that {problem}."]),
                 f"First, {chosen[0][0].lower()}{chosen[0][1:]}", f"Next, {chosen[1][0].lower()}{chosen[1][1:]}",
                 f"Finally, {chosen[2][0].lower()}{chosen[2][1:]}",
                 pick(["If none of this helps, it may be time to contact the manufacturer's support.",
                       "Hopefully one of these steps saves you a trip to the repair shop.",
                       "Got another tip? Leave it in the comments."])]
    elif genre == 6:
        activity, minutes, freq = pick(["brisk walking", "cycling", "swimming", "bodyweight exercises", "yoga"]), \
            pick([15, 20, 30]), pick(["three", "four"])
        parts = [pick(["You don't need a gym membership to get fitter.",
                       "Starting a new exercise habit is easier when you keep it simple.",
                       "Getting back into exercise after a long break can feel daunting, but it doesn't have to."]),
                 f"Begin with {minutes} minutes of {activity}, {freq} times a week.",
                 pick(["Warm up for five minutes first and cool down with gentle stretching afterwards.",
                       "Increase the time by about 10 percent each week rather than all at once.",
                       "Rest days are when your body adapts, so don't skip them."]),
                 pick(["Drink water before and after exercising.",
                       "Good shoes make a real difference, especially for walking and running.",
                       "Track your sessions in a notebook or an app; seeing progress is motivating."]),
                 pick(["If you have a medical condition, check with your doctor before starting a new routine.",
                       "Consistency beats intensity.", ""])]
    elif genre == 7:
        amount = pick([5, 10, 20, 25, 50])
        parts = [pick(["Building an emergency fund is one of the best things you can do for your finances.",
                       "Budgeting doesn't have to be complicated.",
                       "Many people are surprised by how much they spend on small purchases."]),
                 pick(["A common goal is to save three to six months of essential expenses.",
                       "One popular guideline is the 50/30/20 rule: about half of your income for needs, 30 percent for "
                       "wants and 20 percent for savings and paying off debt.",
                       "Set up an automatic transfer on payday so saving happens before spending.",
                       "Review your subscriptions every few months and cancel the ones you don't use."]),
                 f"For example, putting aside ${amount} a week adds up to ${amount * 52:,} over a year.",
                 pick(["Small, regular steps add up.", "This post is general information, not financial advice.", ""])]
    else:
        pet = pick(list(PETS))
        tips = rng.sample(PETS[pet], 2)
        parts = [pick([f"Bringing home a new {pet} is exciting, but the first few weeks take some planning.",
                       f"Here are a few things I wish I'd known before adopting my first {pet}."]), *tips,
                 pick(["Patience goes a long way.", "Enjoy getting to know your new friend!"])]
    return " ".join(p for p in parts if p)


SITES = ["The Kitchen Table", "Small Town Notes", "Weekend Wanderer", "The Practical Home", "Green Fingers Weekly",
         "Everyday Tech Help", "Neighbourhood News", "The Thrifty Household"]
DIGEST_OPENINGS = [
    "Welcome back to {site}. Here's a round-up of what we've been writing about this {period}.",
    "It has been a busy {period} here at {site}, so this post collects the pieces you might have missed.",
    "Thanks for reading {site}! This {period}'s digest covers a bit of everything, as usual.",
    "A quick note before we start: {site} is now {age} years old, and we're grateful to everyone who reads it. "
    "Here's what's new this {period}.",
]
DIGEST_LINKS = ["Also on the blog:", "In other news,", "Next up:", "Meanwhile,", "One more thing.", "Elsewhere,"]
DIGEST_CLOSINGS = [
    "That's all for this {period}. If you enjoyed these posts, please share them with a friend.",
    "As always, thanks for reading. Replies to this post reach us directly, and we read every one.",
    "See you next {period}. Comments are open below if you have questions or ideas for future posts.",
    "We'll be taking a short break next {period}, but the archive is full of older posts to catch up on.",
]


def c4_digest(rng: random.Random) -> str:
    """A longer web page: a blog's periodic round-up of several posts (paragraphs of different genres)."""
    site, period = rng.choice(SITES), rng.choice(["week", "month", "fortnight"])
    genres = rng.sample(range(9), rng.randint(4, 7))
    paragraphs = [rng.choice(DIGEST_OPENINGS).format(site=site, period=period, age=rng.randint(2, 12))]
    for i, genre in enumerate(genres):
        body = c4_paragraph(rng, genre)
        paragraphs.append(f"{rng.choice(DIGEST_LINKS)} {body}" if i and rng.random() < 0.4 else body)
    paragraphs.append(rng.choice(DIGEST_CLOSINGS).format(period=period))
    return "\n\n".join(paragraphs)


def make_c4(n: int = 240, digests: int = 120) -> list[dict]:
    """n short paragraphs, then `digests` longer multi-paragraph pages: enough text (about 60,000 Qwen3 tokens)
    for LLaMA-Factory's pre-training examples, cutoff_len 2048 with 8-step accumulation, to train on."""
    rng = random.Random(SEED + 8)
    seen, rows = set(), []
    while len(rows) < n:
        text = c4_paragraph(rng, len(rows) % 9)
        if text not in seen:
            seen.add(text)
            rows.append({"text": text})
    rng = random.Random(SEED + 80)  # its own stream, so the short rows above stay as they were
    while len(rows) < n + digests:
        text = c4_digest(rng)
        if text not in seen:
            seen.add(text)
            rows.append({"text": text})
    return rows


# --------------------------------------------------------------------------------------------------
# wiki_demo.txt: encyclopedia-style paragraphs, one per line, from the fact tables above and below and
# from number facts computed here.

COUNTRY_FACTS = {
    "France": "The Eiffel Tower in Paris was completed in 1889.",
    "Germany": "It has the largest population of any country entirely within the European Union.",
    "Italy": "It includes the islands of Sicily and Sardinia and surrounds two small independent states, San Marino "
             "and Vatican City.",
    "Spain": "It occupies most of the Iberian Peninsula and also includes the Balearic and Canary Islands.",
    "Portugal": "It is the westernmost country of mainland Europe.",
    "Greece": "Ancient Athens is often described as the birthplace of democracy.",
    "Ireland": "It occupies about five-sixths of the island of Ireland.",
    "Finland": "It has tens of thousands of lakes and is often called the land of a thousand lakes.",
    "the United Kingdom": "It is made up of four countries: England, Scotland, Wales and Northern Ireland.",
    "Norway": "Its long western coastline is famous for its deep fjords.",
    "Sweden": "The Nobel Prizes were established by the will of the Swedish inventor Alfred Nobel.",
    "Switzerland": "It has four national languages: German, French, Italian and Romansh.",
    "Poland": "Its longest river, the Vistula, flows through both Kraków and Warsaw.",
    "Russia": "It is the largest country in the world by area and spans eleven time zones.",
    "Turkey": "Its largest city, Istanbul, straddles the Bosporus strait between Europe and Asia.",
    "China": "It is one of the most populous countries in the world, and the Yangtze is its longest river.",
    "Japan": "It is an island country whose four main islands are Honshu, Hokkaido, Kyushu and Shikoku.",
    "South Korea": "It occupies the southern part of the Korean Peninsula.",
    "India": "According to United Nations estimates, it became the world's most populous country in 2023.",
    "Thailand": "It is the only country in Southeast Asia that was never colonised by a European power.",
    "Vietnam": "Its largest city is Ho Chi Minh City, formerly known as Saigon.",
    "Egypt": "The Nile flows through it from south to north, and most Egyptians live close to the river.",
    "Kenya": "It lies on the equator, and its highest point is Mount Kenya.",
    "Nigeria": "It is the most populous country in Africa.",
    "Canada": "It is the second-largest country in the world by area.",
    "the United States": "It is made up of 50 states and a federal district.",
    "Mexico": "Mexico City is built on the site of the Aztec capital Tenochtitlan.",
    "Brazil": "It is the largest country in South America, and its official language is Portuguese.",
    "Argentina": "The Andes run along its western border with Chile.",
    "Peru": "The Inca citadel of Machu Picchu lies high in its Andes mountains.",
    "Chile": "It is a long, narrow country that stretches more than 4,000 km along the western coast of South America.",
    "Australia": "It is both a country and a continent, and its capital, Canberra, was purpose-built.",
    "New Zealand": "It consists mainly of two large islands, the North Island and the South Island.",
}

WIKI_PARAGRAPHS = [
    # planets
    "Mercury is the smallest planet in the Solar System and the closest to the Sun. It has no moons and almost no "
    "atmosphere, so its surface temperature swings between extremes. A year on Mercury lasts about 88 Earth days.",
    "Venus is the second planet from the Sun and the hottest, because its thick carbon dioxide atmosphere traps "
    "heat. It has no moons and rotates very slowly, in the opposite direction to most planets.",
    "Earth is the third planet from the Sun and the only one known to support life. About 71 percent of its "
    "surface is covered by water, and it has one natural satellite, the Moon.",
    "Mars is the fourth planet from the Sun and is often called the Red Planet because of the iron oxide on its "
    "surface. It has two small moons, Phobos and Deimos, and the tallest volcano in the Solar System, Olympus Mons.",
    "Jupiter is the fifth planet from the Sun and the largest in the Solar System, a gas giant made mostly of "
    "hydrogen and helium. Its Great Red Spot is a storm larger than Earth that has been observed for centuries.",
    "Saturn is the sixth planet from the Sun and is best known for its bright rings of ice and rock. It is a gas "
    "giant and the second-largest planet; its largest moon, Titan, has a thick atmosphere.",
    "Uranus is the seventh planet from the Sun, an ice giant whose axis is tilted by about 98 degrees, so it "
    "appears to roll around the Sun on its side. It was discovered by William Herschel in 1781.",
    "Neptune is the eighth and farthest known planet from the Sun. It is an ice giant with the strongest winds "
    "measured in the Solar System, and it was discovered in 1846 after its position had been predicted mathematically.",
    # scientists
    "Isaac Newton (1643–1727) was an English mathematician and physicist. His Principia (1687) set out the laws of "
    "motion and the law of universal gravitation, and he developed calculus independently of Gottfried Wilhelm Leibniz.",
    "Albert Einstein (1879–1955) was a German-born theoretical physicist best known for the theories of special and "
    "general relativity. He received the 1921 Nobel Prize in Physics for his explanation of the photoelectric effect.",
    "Marie Curie (1867–1934) was a Polish-born physicist and chemist who worked in France. She pioneered research on "
    "radioactivity, discovered the elements polonium and radium, and was the first person to win Nobel Prizes in two "
    "different sciences, physics in 1903 and chemistry in 1911.",
    "Charles Darwin (1809–1882) was an English naturalist whose book On the Origin of Species (1859) presented the "
    "theory of evolution by natural selection.",
    "Galileo Galilei (1564–1642) was an Italian astronomer and physicist. With an improved telescope he observed the "
    "four largest moons of Jupiter in 1610 and the phases of Venus, evidence that supported the heliocentric model.",
    "Nicolaus Copernicus (1473–1543) was a Polish astronomer who proposed a model of the universe with the Sun, rather "
    "than Earth, at its centre. His book De revolutionibus orbium coelestium was published in 1543, the year he died.",
    "Johannes Kepler (1571–1630) was a German astronomer who described planetary motion with three laws, including "
    "the discovery that planets move in elliptical orbits with the Sun at one focus.",
    "Michael Faraday (1791–1867) was an English scientist who discovered electromagnetic induction in 1831, the "
    "principle behind electric generators and transformers.",
    "James Clerk Maxwell (1831–1879) was a Scottish physicist who formulated the equations of electromagnetism and "
    "showed that light is an electromagnetic wave.",
    "Dmitri Mendeleev (1834–1907) was a Russian chemist who published a periodic table of the elements in 1869, "
    "leaving gaps for elements not yet discovered and predicting their properties.",
    "Gregor Mendel (1822–1884) was an Augustinian friar and scientist whose experiments with pea plants revealed the "
    "basic rules of heredity. His work was largely overlooked until it was rediscovered in 1900.",
    "Louis Pasteur (1822–1895) was a French chemist and microbiologist who showed that microorganisms cause "
    "fermentation and disease, developed pasteurisation, and created early vaccines against anthrax and rabies.",
    "Alan Turing (1912–1954) was an English mathematician and computer scientist. His 1936 paper introduced the "
    "Turing machine, a model of computation, and during the Second World War he helped break German Enigma ciphers "
    "at Bletchley Park.",
    "Ada Lovelace (1815–1852) was an English mathematician known for her notes on Charles Babbage's proposed "
    "Analytical Engine, which include what is often described as the first published computer program.",
    "Nikola Tesla (1856–1943) was a Serbian-American inventor and engineer who made key contributions to "
    "alternating-current (AC) electrical systems, including the induction motor.",
    "Rosalind Franklin (1920–1958) was an English chemist whose X-ray diffraction images of DNA, including the famous "
    "Photo 51, were crucial to understanding its double-helix structure.",
    "Niels Bohr (1885–1962) was a Danish physicist who proposed a model of the atom in which electrons occupy "
    "discrete energy levels. He received the Nobel Prize in Physics in 1922.",
    "Max Planck (1858–1947) was a German physicist who originated quantum theory by proposing, in 1900, that energy "
    "is emitted in discrete packets called quanta. He received the Nobel Prize in Physics in 1918.",
    "Alexander Fleming (1881–1955) was a Scottish physician and microbiologist who discovered penicillin in 1928, "
    "opening the way to antibiotics. He shared the 1945 Nobel Prize in Physiology or Medicine.",
    "Carl Friedrich Gauss (1777–1855) was a German mathematician who made fundamental contributions to number theory, "
    "statistics, geometry and physics; the normal distribution is often called the Gaussian distribution after him.",
    "Leonhard Euler (1707–1783) was a Swiss mathematician, one of the most productive in history. He introduced or "
    "popularised much of modern notation, including f(x) for a function, e for the base of the natural logarithm "
    "and i for the imaginary unit.",
    "Srinivasa Ramanujan (1887–1920) was an Indian mathematician who, with almost no formal training, made remarkable "
    "contributions to number theory, infinite series and continued fractions.",
    "Tu Youyou (born 1930) is a Chinese pharmaceutical chemist who discovered artemisinin, a drug that has saved "
    "millions of lives from malaria. She received the Nobel Prize in Physiology or Medicine in 2015.",
    "Zhang Heng (78–139) was a Chinese polymath of the Eastern Han dynasty who built an early seismoscope in the year "
    "132 and made important contributions to astronomy and mathematics.",
    "Euclid was a Greek mathematician who worked in Alexandria around 300 BC and is often called the father of "
    "geometry. His Elements organised the geometry of his time into a system of definitions, axioms and proofs.",
    "Archimedes (c. 287 – c. 212 BC) was a Greek mathematician and inventor from Syracuse who estimated the value of "
    "pi, described the principle of buoyancy and studied the lever.",
    # programming languages
    "Python is a high-level, general-purpose programming language created by Guido van Rossum and first released in "
    "1991. It emphasises readable code, uses indentation to mark blocks, and is widely used in data science, web "
    "development and automation.",
    "C is a general-purpose programming language developed by Dennis Ritchie at Bell Labs in the early 1970s. It was "
    "used to rewrite the Unix operating system and remains widely used for operating systems and embedded software.",
    "C++ is a programming language created by Bjarne Stroustrup as an extension of C and first released "
    "commercially in 1985. It adds classes, templates and other features for building large programs.",
    "Java is an object-oriented programming language developed at Sun Microsystems by a team led by James Gosling "
    "and released in 1995. Java programs compile to bytecode that runs on the Java Virtual Machine.",
    "JavaScript is a programming language created by Brendan Eich at Netscape in 1995. It is the main scripting "
    "language of web browsers and is also used on servers through runtimes such as Node.js.",
    "Ruby is a dynamic programming language designed by Yukihiro Matsumoto in Japan and first released in 1995. The "
    "Ruby on Rails web framework helped make it popular.",
    "Go is a statically typed programming language designed at Google by Robert Griesemer, Rob Pike and Ken Thompson "
    "and announced in 2009. It is known for its simplicity, fast compilation and built-in support for concurrency.",
    "Rust is a systems programming language that began as a project of Graydon Hoare and was later sponsored by "
    "Mozilla; version 1.0 was released in 2015. Its ownership system enforces memory safety without a garbage collector.",
    "Lisp is a family of programming languages first specified by John McCarthy in 1958, making it one of the oldest "
    "high-level languages still in use. Lisp programs are written as lists, so code and data share the same structure.",
    "Fortran is a programming language developed at IBM by a team led by John Backus; the first compiler was "
    "delivered in 1957. It is still widely used for numerical and scientific computing.",
    "COBOL is a programming language designed in 1959 for business data processing. Its design drew on Grace "
    "Hopper's earlier FLOW-MATIC language, and it still runs many banking and government systems.",
    "Perl is a programming language created by Larry Wall and released in 1987. It became popular for text "
    "processing and system administration.",
    "PHP is a scripting language for web development created by Rasmus Lerdorf in 1994. It runs on the web server "
    "and generates the HTML that is sent to the browser.",
    "Swift is a programming language introduced by Apple in 2014 for building apps on its platforms, designed as a "
    "modern successor to Objective-C.",
    "Kotlin is a statically typed programming language developed by JetBrains; version 1.0 was released in 2016, "
    "and Google announced official support for Kotlin on Android in 2017.",
    "TypeScript is a programming language developed by Microsoft and first released in 2012. It adds static types to "
    "JavaScript and compiles to plain JavaScript.",
    "Haskell is a purely functional programming language named after the logician Haskell Curry. The first version "
    "of the language was defined in 1990 by a committee of researchers.",
    "R is a programming language for statistical computing and graphics created by Ross Ihaka and Robert Gentleman "
    "at the University of Auckland; it first appeared in 1993.",
    "Julia is a high-level programming language for numerical computing, first released in 2012 by Jeff Bezanson, "
    "Stefan Karpinski, Viral B. Shah and Alan Edelman.",
    "SQL (Structured Query Language) is a language for managing data in relational databases. It was developed at "
    "IBM by Donald D. Chamberlin and Raymond F. Boyce in the early 1970s.",
    "Pascal is a programming language designed by Niklaus Wirth and published in 1970. It was widely used to teach "
    "structured programming.",
    "Scala is a programming language designed by Martin Odersky that combines object-oriented and functional "
    "programming. It first appeared in 2004 and runs on the Java Virtual Machine.",
    # rivers
    "The Nile is a major river of northeastern Africa that flows north into the Mediterranean Sea. At about 6,650 km "
    "it is usually listed as the longest river in the world; its two main branches, the White Nile and the Blue "
    "Nile, meet at Khartoum in Sudan.",
    "The Amazon is a river in South America that flows east into the Atlantic Ocean. It carries more water than any "
    "other river in the world, and its basin holds the largest tropical rainforest on Earth.",
    "The Yangtze is the longest river in Asia and the third-longest in the world, at about 6,300 km. It flows across "
    "China from the Tibetan Plateau to the East China Sea near Shanghai, and the Three Gorges Dam spans it in Hubei province.",
    "The Yellow River, or Huang He, is the second-longest river in China, at about 5,460 km. It is named for the "
    "yellow silt it carries, is often called the cradle of Chinese civilisation, and flows into the Bohai Sea.",
    "The Mississippi is a major river of the United States that flows south from Minnesota to the Gulf of Mexico. "
    "Together with its tributary the Missouri, it forms one of the longest river systems in the world.",
    "The Danube is the second-longest river in Europe, at about 2,850 km. It rises in Germany's Black Forest and "
    "passes through or along ten countries before reaching the Black Sea; Vienna, Bratislava, Budapest and Belgrade "
    "all lie on its banks.",
    "The Volga is the longest river in Europe, at about 3,530 km. It flows through central Russia and empties into "
    "the Caspian Sea.",
    "The Rhine is a European river that rises in the Swiss Alps and flows about 1,230 km to the North Sea in the "
    "Netherlands. It is one of the busiest inland waterways in Europe.",
    "The Thames is a river in southern England that flows through Oxford and London to the North Sea. At about "
    "346 km it is the longest river entirely in England.",
    "The Ganges is a river of South Asia that flows from the Himalayas across northern India and Bangladesh into the "
    "Bay of Bengal. It is sacred in Hinduism.",
    "The Mekong is a river of Southeast Asia, about 4,900 km long. It rises on the Tibetan Plateau and passes through "
    "or along the borders of China, Myanmar, Laos, Thailand, Cambodia and Vietnam before reaching the South China Sea.",
    "The Congo is a river of Central Africa and the deepest river in the world, with depths of more than 220 metres. "
    "It crosses the equator twice and flows into the Atlantic Ocean.",
    # mountains
    "Mount Everest is the highest mountain on Earth above sea level, at 8,849 metres. It lies in the Himalayas on the "
    "border between Nepal and China and was first climbed by Edmund Hillary and Tenzing Norgay in 1953.",
    "K2 is the second-highest mountain on Earth, at 8,611 metres. It stands in the Karakoram range on the border "
    "between Pakistan and China and is known as one of the most difficult peaks to climb.",
    "Kangchenjunga is the third-highest mountain in the world, at 8,586 metres, and stands on the border between "
    "Nepal and India.",
    "Mount Kilimanjaro, in Tanzania, is the highest mountain in Africa, at 5,895 metres. It is a dormant volcano and "
    "the tallest free-standing mountain in the world.",
    "Mont Blanc is the highest mountain in the Alps, at about 4,800 metres, on the border between France and Italy.",
    "Denali, in Alaska, is the highest mountain in North America, at 6,190 metres.",
    "Aconcagua, in the Andes of Argentina, is the highest mountain outside Asia, at 6,961 metres.",
    "Mount Fuji is the highest mountain in Japan, at 3,776 metres. It is an active volcano that last erupted in "
    "1707 and has long been a symbol of the country.",
    "Mount Elbrus, in the Caucasus Mountains of Russia, is a dormant volcano and, at 5,642 metres, is usually counted "
    "as the highest mountain in Europe.",
    "The Matterhorn is a pyramid-shaped peak in the Alps on the border between Switzerland and Italy, rising to "
    "4,478 metres. It was first climbed in 1865.",
    "Mount Kosciuszko is the highest mountain on the Australian mainland, at 2,228 metres.",
    "Mount Tai, in Shandong province, China, rises to 1,545 metres and has been a place of worship and imperial "
    "ceremonies for thousands of years. It is a UNESCO World Heritage Site.",
    # animals
    "The blue whale is a marine mammal and the largest animal known to have ever lived, reaching lengths of about "
    "30 metres. It feeds mainly on tiny crustaceans called krill.",
    "The cheetah is a large cat native to Africa, with a small population in Iran. It is the fastest land animal, "
    "capable of short sprints at around 100 km/h.",
    "The giant panda is a bear native to the mountains of central China. Bamboo makes up almost all of its diet, and "
    "it spends much of the day eating.",
    "The African bush elephant is the largest living land animal. Elephants live in family groups led by an older "
    "female, the matriarch.",
    "The giraffe is an African mammal and the tallest living animal; adult males can be more than 5 metres tall. "
    "Despite its long neck, it has seven neck vertebrae, the same number as most mammals.",
    "The emperor penguin is the largest living penguin and lives only in Antarctica. The male incubates the single "
    "egg on his feet through the winter while the female feeds at sea.",
    "Octopuses are soft-bodied marine animals with eight arms and three hearts. They are known for their "
    "intelligence and their ability to change colour to blend in with their surroundings.",
    "Kangaroos are marsupials native to Australia. They move by hopping on their powerful hind legs, and females "
    "carry their young, called joeys, in a pouch.",
    "The platypus is a semi-aquatic mammal of eastern Australia and one of the few mammals that lay eggs. It has a "
    "duck-like bill, and males have venomous spurs on their hind legs.",
    "Honeybees are social insects that live in colonies with a single queen and thousands of workers. They make "
    "honey from flower nectar and pollinate many food crops.",
    "The polar bear lives around the Arctic Ocean and hunts seals from the sea ice. It is often described as the "
    "largest land carnivore.",
    "Hummingbirds are small birds of the Americas that can hover in place and even fly backwards. Their wings beat "
    "dozens of times per second.",
    "The koala is an Australian marsupial that feeds almost entirely on eucalyptus leaves and sleeps for most of "
    "the day.",
    "The ostrich is the largest living bird. It cannot fly but is the fastest-running bird, and it lays the largest "
    "eggs of any living bird.",
    "The Komodo dragon is the largest living lizard, growing up to about 3 metres long. It is found only on a few "
    "Indonesian islands, including Komodo.",
    "The axolotl is a salamander native to lakes near Mexico City. It keeps its larval features, such as external "
    "gills, into adulthood and can regenerate lost limbs.",
    "The monarch butterfly is known for its long migration: each autumn, monarchs from eastern North America fly "
    "thousands of kilometres to spend the winter in the mountains of central Mexico.",
    "The common bottlenose dolphin is a toothed whale found in warm and temperate seas around the world. It uses "
    "echolocation to find prey and lives in social groups called pods.",
    "The red fox is one of the most widely distributed wild carnivores, found across much of the Northern "
    "Hemisphere, and it has adapted well to life in towns and cities.",
    "Sloths are tree-dwelling mammals of Central and South America. They move very slowly and spend most of their "
    "lives hanging upside down from branches.",
    # writers and composers
    "Ludwig van Beethoven (1770–1827) was a German composer and pianist, born in Bonn, who wrote nine symphonies. He "
    "continued to compose after becoming almost completely deaf.",
    "Wolfgang Amadeus Mozart (1756–1791) was a composer from Salzburg who wrote more than 600 works, including the "
    "operas The Marriage of Figaro and The Magic Flute, before his death at the age of 35.",
    "Johann Sebastian Bach (1685–1750) was a German composer of the Baroque period, known for works such as the "
    "Brandenburg Concertos and the Mass in B minor.",
    "Frédéric Chopin (1810–1849) was a Polish composer and pianist who wrote mainly for solo piano, including "
    "nocturnes, études and mazurkas.",
    "Pyotr Ilyich Tchaikovsky (1840–1893) was a Russian composer whose works include the ballets Swan Lake, The "
    "Sleeping Beauty and The Nutcracker.",
    "William Shakespeare (1564–1616) was an English playwright and poet from Stratford-upon-Avon. His works include "
    "Hamlet, Macbeth, Romeo and Juliet and 154 sonnets.",
    "Jane Austen (1775–1817) was an English novelist whose books, including Pride and Prejudice (1813) and Emma "
    "(1815), examine the lives and marriages of the English gentry.",
    "Miguel de Cervantes (1547–1616) was a Spanish writer best known for Don Quixote, published in two parts in 1605 "
    "and 1615.",
    "Leo Tolstoy (1828–1910) was a Russian writer whose novels War and Peace and Anna Karenina are regarded as among "
    "the greatest works of fiction.",
    "Cao Xueqin was an 18th-century Chinese writer of the Qing dynasty and the author of Dream of the Red Chamber, "
    "one of the Four Great Classical Novels of Chinese literature.",
    "Lu Xun (1881–1936) was a Chinese writer and a leading figure of modern Chinese literature. His short story A "
    "Madman's Diary (1918) was one of the first major works written in vernacular Chinese.",
    "Li Bai (701–762) was a Chinese poet of the Tang dynasty, celebrated for his imaginative verse about nature, "
    "friendship and wine.",
    "Du Fu (712–770) was a poet of the Tang dynasty, often paired with Li Bai as one of the greatest Chinese poets; "
    "his poems reflect the hardships of war and of ordinary people.",
    # inventions
    "The printing press with movable metal type was developed by Johannes Gutenberg in Mainz, Germany, around 1440. "
    "The Gutenberg Bible, printed in the 1450s, was one of the first major books produced this way.",
    "Movable type printing was first invented in China by Bi Sheng around 1040, using characters made of baked clay.",
    "Papermaking was improved and popularised in China by Cai Lun, an official of the Eastern Han dynasty, around "
    "the year 105.",
    "Alexander Graham Bell was granted a United States patent for the telephone in 1876.",
    "In 1879 Thomas Edison demonstrated a practical, long-lasting incandescent light bulb with a carbon filament, "
    "building on the work of earlier inventors such as Joseph Swan.",
    "On 17 December 1903, Orville and Wilbur Wright made the first controlled, sustained flights of a powered "
    "aeroplane near Kitty Hawk, North Carolina.",
    "The World Wide Web was proposed by Tim Berners-Lee in 1989 while he was working at CERN, and it became publicly "
    "available in 1991.",
    "The transistor was invented at Bell Labs in 1947 by John Bardeen, Walter Brattain and William Shockley, who "
    "shared the 1956 Nobel Prize in Physics for the work.",
    "James Watt's improvements to the steam engine, above all the separate condenser patented in 1769, greatly "
    "increased its efficiency and helped drive the Industrial Revolution.",
    "The magnetic compass was first used for navigation in China during the Song dynasty, by the 11th century.",
    # Chinese dynasties
    "The Qin dynasty (221–206 BC) was the first dynasty to unify China. Its first emperor, Qin Shi Huang, "
    "standardised weights, measures and writing, and was buried with the Terracotta Army near Xi'an.",
    "The Han dynasty (202 BC – AD 220) ruled China for four centuries, a period often regarded as a golden age. The "
    "Silk Road trade routes opened during this time, and China's largest ethnic group still takes its name from the dynasty.",
    "The Sui dynasty (581–618) reunified China after centuries of division and built much of the Grand Canal linking "
    "the north and the south.",
    "The Tang dynasty (618–907) was a high point of Chinese culture, especially poetry. Its capital, Chang'an (today's "
    "Xi'an), was one of the largest cities in the world.",
    "The Song dynasty (960–1279) saw major advances in technology and commerce, including gunpowder weapons, the "
    "magnetic compass for navigation, and the world's first government-issued paper money.",
    "The Yuan dynasty (1271–1368) was founded by Kublai Khan, a grandson of Genghis Khan, and was the first dynasty to "
    "rule all of China under Mongol leadership.",
    "The Ming dynasty (1368–1644) built the Forbidden City in Beijing and rebuilt much of the Great Wall in the form "
    "seen today. Admiral Zheng He led its great sea voyages in the early 15th century.",
    "The Qing dynasty (1644–1912) was the last imperial dynasty of China, founded by the Manchus. It ended with the "
    "abdication of the last emperor, Puyi, in 1912, after the Xinhai Revolution.",
    # SI base units
    "The metre (symbol m) is the SI base unit of length. It is defined as the distance light travels in a vacuum in "
    "1/299,792,458 of a second.",
    "The kilogram (symbol kg) is the SI base unit of mass. Since 2019 it has been defined by fixing the numerical "
    "value of the Planck constant.",
    "The second (symbol s) is the SI base unit of time. It is defined by the frequency of a transition of the "
    "caesium-133 atom, 9,192,631,770 hertz.",
    "The ampere (symbol A) is the SI base unit of electric current. Since 2019 it has been defined by fixing the "
    "value of the elementary charge.",
    "The kelvin (symbol K) is the SI base unit of thermodynamic temperature. Zero kelvin is absolute zero, and a "
    "change of one kelvin equals a change of one degree Celsius.",
    "The mole (symbol mol) is the SI base unit of amount of substance. One mole contains exactly 6.02214076 × 10²³ "
    "elementary entities, such as atoms or molecules.",
    "The candela (symbol cd) is the SI base unit of luminous intensity, the perceived power of light emitted in a "
    "particular direction.",
    # mathematics
    "A prime number is a natural number greater than 1 whose only positive divisors are 1 and itself. The first "
    "primes are 2, 3, 5, 7 and 11, and Euclid proved that there are infinitely many.",
    "Pi (π) is the ratio of a circle's circumference to its diameter, approximately 3.14159. It is an irrational "
    "number, so its decimal expansion never ends or repeats.",
    "The Pythagorean theorem states that in a right-angled triangle the square of the hypotenuse equals the sum of "
    "the squares of the other two sides, a² + b² = c². A triangle with sides 3, 4 and 5 satisfies 9 + 16 = 25.",
    "In calculus, the derivative of a function measures how its output changes as its input changes, which is the "
    "slope of its graph at a point. For example, the derivative of x² is 2x.",
    "An integral can be thought of as the area under a curve. The fundamental theorem of calculus shows that "
    "integration and differentiation are inverse operations.",
    "A logarithm tells you the power to which a base must be raised to produce a given number. For example, the "
    "base-10 logarithm of 1000 is 3, because 10³ = 1000.",
    "A matrix is a rectangular array of numbers arranged in rows and columns. Matrices represent linear "
    "transformations and systems of linear equations and are central to computer graphics and machine learning.",
    "The Fibonacci sequence starts 0, 1, 1, 2, 3, 5, 8, 13, with each term the sum of the two before it. The ratio "
    "of consecutive terms approaches the golden ratio, about 1.618.",
    "Probability is a number between 0 and 1 that measures how likely an event is, where 0 means impossible and 1 "
    "means certain. For a fair six-sided die, the probability of rolling a 4 is 1/6.",
    "An irrational number is a real number that cannot be written as a fraction of two integers. Examples include "
    "the square root of 2, pi and e.",
    "In mathematics, a set is a collection of distinct objects called its elements. The set {1, 2, 3} has three "
    "elements, and the empty set has none.",
    "The binary numeral system writes numbers with only the digits 0 and 1, each position being worth twice the one "
    "to its right. Computers use binary because their circuits have two states; for example, 13 is written 1101.",
    "A vector is a quantity with both a magnitude and a direction, such as a velocity or a force. It is often written "
    "as a list of components; the vector (3, 4) has length 5.",
]

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + ONES[n % 10])
    return ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " and " + words(n % 100))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def roman(n: int) -> str:
    out = ""
    for value, letters in [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                           (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]:
        while n >= value:
            out, n = out + letters, n - value
    return out


def number_paragraph(n: int) -> str:
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    text = f"{n} ({words(n)}) is the natural number following {n - 1} and preceding {n + 1}. "
    if is_prime(n):
        k = sum(is_prime(m) for m in range(2, n + 1))
        text += f"It is the {ordinal(k)} prime number, so its only divisors are 1 and {n}. "
    else:
        text += (f"It is {'an even' if n % 2 == 0 else 'an odd'} composite number with the prime factorisation "
                 f"{factorisation(prime_factors(n)).split(' = ')[-1]} and {len(divisors)} divisors: "
                 f"{', '.join(map(str, divisors[:-1]))} and {n}. ")
    root, cube = math.isqrt(n), round(n ** (1 / 3))
    if root * root == n:
        text += f"It is a perfect square, {root}². "
    if cube**3 == n:
        text += f"It is a perfect cube, {cube}³. "
    k = (math.isqrt(8 * n + 1) - 1) // 2
    if k * (k + 1) // 2 == n:
        terms = " + ".join(map(str, range(1, k + 1))) if k <= 4 else f"1 + 2 + ... + {k}"
        text += f"It is the {ordinal(k)} triangular number, the sum {terms}. "
    a, b = 0, 1
    while b < n:
        a, b = b, a + b
    if b == n:
        text += "It is a Fibonacci number. "
    if sum(divisors[:-1]) == n:
        text += "It is a perfect number: it equals the sum of its proper divisors. "
    text += f"In Roman numerals it is written {roman(n)}, and in binary {n:b}."
    return text


def make_wiki() -> list[str]:
    lines = []
    for country, capital, currency, continent, *_ in COUNTRIES:
        name = country[0].upper() + country[1:]
        where = "spans Europe and Asia" if " and " in continent else f"is a country in {continent}"
        lines.append(f"{name} {where}. Its capital is {capital}, and its currency is the {currency}. "
                     f"{COUNTRY_FACTS[country]}")
    periods = [2, 10, 18, 36, 54, 86, 118]  # last atomic number of each period
    for name, symbol, z, category, state, _ in ELEMENTS:
        period = next(i + 1 for i, last in enumerate(periods) if z <= last)
        lines.append(f"{name.capitalize()} is a chemical element with the symbol {symbol} and atomic number {z}. It is "
                     f"{an(category)} {category} in period {period} of the periodic table and is a {state} at room "
                     f"temperature.")
    lines += WIKI_PARAGRAPHS
    lines += [number_paragraph(n) for n in range(2, 62)]
    return lines


# --------------------------------------------------------------------------------------------------


def write_json(path: Path, rows: list) -> None:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def make_grpo(n: int = 64) -> list[dict]:
    """grpo_demo.jsonl: small arithmetic prompts with their answers (the `solution` column reward functions get)."""
    rng = random.Random(17)
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
    rows = []
    for i in range(n):
        op = "+-*"[i % 3]
        a, b = rng.randint(2, 40), rng.randint(2, 40 if op != "*" else 12)
        rows.append({"instruction": f"What is {a} {op} {b}? Think briefly, then give the final answer in \\boxed{{}}.",
                     "solution": str(ops[op](a, b))})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "data", help="directory to write the files into")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "identity.json", make_identity())
    write_json(out / "alpaca_en_demo.json", make_alpaca_en())
    write_json(out / "alpaca_zh_demo.json", make_alpaca_zh())
    write_json(out / "glaive_toolcall_en_demo.json", make_toolcall("en"))
    write_json(out / "glaive_toolcall_zh_demo.json", make_toolcall("zh"))
    write_json(out / "dpo_en_demo.json", make_dpo("en"))
    write_json(out / "dpo_zh_demo.json", make_dpo("zh"))
    write_json(out / "kto_en_demo.json", make_kto())
    (out / "c4_demo.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in make_c4()),
                                       encoding="utf-8")
    (out / "grpo_demo.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in make_grpo()),
                                         encoding="utf-8")
    (out / "wiki_demo.txt").write_text("".join(line + "\n" for line in make_wiki()), encoding="utf-8")


if __name__ == "__main__":
    main()
